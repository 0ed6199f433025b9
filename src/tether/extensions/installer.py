"""Install, update, configure and remove extensions, each step atomic.

A bundle is opened and judged (structure, manifest, signature, compatibility, settings)
before anything is written; it is unpacked into a temporary dir that becomes
``extensions/<id>/<version>`` only when complete, and registered (extension + source) in one
transaction. A failure at any step removes what that step wrote; an update keeps the old
version until the new one has started, and puts it back when it does not. Starting and
stopping servers is the ``Starter``'s job (the app's host), not this module's.
"""

from __future__ import annotations

import dataclasses
import errno
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import anyio.to_thread
from cryptography import x509

from tether.core.activity import (
    ActivityEvent,
    ExtensionConfigured,
    ExtensionInstalled,
    ExtensionRemoved,
    ExtensionToolsDiffer,
    ExtensionUpdated,
)
from tether.core.storage import ExtensionStore, InstalledExtension, SecretStore, SourceStore
from tether.core.tools import check_source_name
from tether.errors import (
    AlreadyExists,
    BundleError,
    IncompatibleExtension,
    InvalidSignature,
    NoSpace,
    SignatureRequired,
    UpdateFailed,
    UsageError,
)
from tether.extensions.bundle import Bundle, BundleLimits, ChunkWriter, open_bundle, safe_extract, write_chunk
from tether.extensions.compatibility import check_compatibility
from tether.extensions.config_vars import SystemDirs
from tether.extensions.installed import manifest_of
from tether.extensions.layout import ExtensionPaths, remove_tree
from tether.extensions.manifest_model import Manifest, UserConfigOption
from tether.extensions.runtimes import find_commands, probe_versions, runtimes_to_probe
from tether.extensions.settings import (
    check_settings,
    forget_secrets,
    load_values,
    parse_settings,
    redacted,
    save_secrets,
    split_sensitive,
)
from tether.extensions.signature import SignatureResult, SignatureStatus
from tether.types import Actor, SourceConfig, SourceKind, SourceState, SourceStatus

SettingTexts = Mapping[str, Sequence[str]]
"""``--set KEY=VALUE`` as given: each key with its values (several for a ``multiple`` setting)."""


@dataclass(frozen=True, slots=True)
class StartReport:
    """How a start went: the source's status after its first attempt and the tools it listed."""

    status: SourceStatus
    tools: tuple[str, ...] = ()


class Starter(Protocol):
    """Starts and stops an extension's source in the running host (the app implements it)."""

    async def start(self, extension_id: str) -> StartReport:
        """Start it (stopping a running one first) and report after the first connection attempt."""
        ...

    async def stop(self, extension_id: str) -> None:
        """Stop it if it runs in this process; nothing otherwise."""
        ...


class InstallerStore(ExtensionStore, SourceStore, Protocol):
    """What the installer needs from storage."""


Recorder = Callable[[ActivityEvent, Actor], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ToolComparison:
    """The tools a manifest declares against those its server listed."""

    declared: tuple[str, ...]
    listed: tuple[str, ...]

    @property
    def undeclared(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.listed) - set(self.declared)))

    @property
    def not_listed(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.declared) - set(self.listed)))

    @property
    def differs(self) -> bool:
        return bool(self.undeclared or self.not_listed)


@dataclass(frozen=True, slots=True)
class InstallReport:
    extension: InstalledExtension
    manifest: Manifest
    signature: SignatureResult
    warnings: tuple[str, ...] = ()
    missing: tuple[UserConfigOption, ...] = ()
    started: StartReport | None = None
    tools: ToolComparison | None = None
    previous_version: str | None = None


@dataclass
class Installer:
    home: Path
    store: InstallerStore
    secrets: SecretStore
    record: Recorder
    starter: Starter
    platform: str = sys.platform
    trusted_roots: Callable[[], Sequence[x509.Certificate]] = lambda: ()
    require_signed: bool = False
    tether_version: str = "0"
    limits: BundleLimits = field(default_factory=BundleLimits)
    write: ChunkWriter = write_chunk
    dirs: SystemDirs | None = None
    _commands: dict[str, str] | None = None
    _versions: dict[str, str | None] = field(default_factory=dict[str, str | None])
    """Runtime versions probed so far (once per runtime and installer)."""

    @property
    def commands(self) -> dict[str, str]:
        """The runtimes' executables (node, python, uv...), found once."""
        if self._commands is None:
            self._commands = find_commands()
        return self._commands

    @property
    def user_dirs(self) -> SystemDirs:
        return self.dirs or SystemDirs.of_this_user()

    # -- judging a bundle --------------------------------------------------------------

    async def open_checked(self, path: Path) -> tuple[Bundle, SignatureResult]:
        """Open ``path`` and check its signature and that it can run here; writes nothing."""
        bundle = await anyio.to_thread.run_sync(lambda: open_bundle(path, limits=self.limits))
        signature = await anyio.to_thread.run_sync(self._verify, bundle)
        if signature.status is SignatureStatus.INVALID:
            raise InvalidSignature(
                f"{path.name} has an invalid signature ({signature.reason}): it was changed after it "
                "was signed, or the signature is broken; tether does not install it"
            )
        if self.require_signed and signature.status is not SignatureStatus.SIGNED:
            raise SignatureRequired(
                f"{path.name} is {signature}, and require_signed_extensions is on: ask its publisher "
                "for a signed bundle, or add their root certificate to trusted_signers"
            )
        await self.check_runs_here(bundle.manifest)
        return bundle, signature

    def _verify(self, bundle: Bundle) -> SignatureResult:
        if bundle.signature_block is None:
            return bundle.verify_signature()
        return bundle.verify_signature(trusted_roots=self.trusted_roots())

    async def check_runs_here(self, manifest: Manifest) -> None:
        """Raise IncompatibleExtension naming each reason ``manifest`` cannot run on this machine."""
        names = runtimes_to_probe(manifest, self.platform)
        unknown = [name for name in names if name not in self._versions]
        if unknown:
            self._versions.update(await probe_versions(unknown, self.commands))
        runtimes = {name: self._versions[name] for name in names}
        problems = check_compatibility(
            manifest, self.platform, runtimes=runtimes, clients={"tether": self.tether_version}
        )
        if problems:
            reasons = "; ".join(str(problem) for problem in problems)
            raise IncompatibleExtension(f"{manifest.title} {manifest.version} cannot run here: {reasons}")

    # -- install -----------------------------------------------------------------------

    async def install_bundle(
        self, actor: Actor, path: Path, *, settings: SettingTexts | None = None, start: bool = True
    ) -> InstallReport:
        """Install the bundle at ``path`` with optional settings; start it when it can run.

        Raises BundleError, InvalidManifest, InvalidSignature, SignatureRequired,
        IncompatibleExtension, InvalidUserConfig, AlreadyExists, InstallInProgress, NoSpace;
        after any of them nothing of this install is left on disk, in the DB or the secrets.
        """
        bundle, signature = await self.open_checked(path)
        manifest = bundle.manifest
        extension_id = check_source_name(manifest.slug)
        values = parse_settings(manifest, settings or {})
        paths = ExtensionPaths(self.home, extension_id)
        dest = paths.version_dir(manifest.version)
        missing = check_settings(
            manifest, values, bundle_dir=str(dest), dirs=self.user_dirs, platform=self.platform
        )
        with paths.locked():
            await self._check_free(extension_id)
            had_root = paths.root.exists() and any(paths.root.iterdir())
            written: list[str] = []
            try:
                await self._unpack(bundle, dest)
                paths.data_dir.mkdir(parents=True, exist_ok=True)
                plain, secret = split_sensitive(manifest, values)
                written = save_secrets(extension_id, secret, self.secrets)
                now = _now()
                extension = InstalledExtension(
                    id=extension_id,
                    version=manifest.version,
                    manifest=dict(manifest.raw),
                    install_dir=str(dest),
                    signature=signature.status.value,
                    signer=signature.subject,
                    settings=plain,
                    installed_at=now,
                    updated_at=now,
                )
                await self.store.add_extension(extension, _source_row(extension_id, manifest, dest))
            except BaseException:
                for key in written:
                    self.secrets.delete_secret(key)
                remove_tree(dest if had_root else paths.root)
                raise
        await self.record(
            ExtensionInstalled(
                source=extension_id,
                version=manifest.version,
                signature=signature.status.value,
                signer=signature.subject,
                settings=redacted(manifest, values),
                declared_tools=tuple(tool.name for tool in manifest.tools),
            ),
            actor,
        )
        report = InstallReport(extension, manifest, signature, bundle.warnings, tuple(missing))
        if start and not missing:
            report = await self._first_start(actor, report)
        return report

    async def _check_free(self, extension_id: str) -> None:
        if extension_id in {e.id for e in await self.store.list_extensions()}:
            raise AlreadyExists(
                f"extension '{extension_id}' is installed already: "
                f"use `tether ext update {extension_id} BUNDLE` to install another version"
            )
        if extension_id in {s.name for s in await self.store.list_sources()}:
            raise AlreadyExists(
                f"a source named '{extension_id}' exists already: remove it with "
                f"`tether source remove {extension_id}` to install this extension"
            )

    async def _unpack(self, bundle: Bundle, dest: Path) -> None:
        remove_tree(dest)  # a crashed install's leftovers: no DB row points at them
        try:
            await anyio.to_thread.run_sync(lambda: safe_extract(bundle, dest, write=self.write))
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise NoSpace(
                    f"the disk is full: unpacking {bundle.manifest.name} needs "
                    f"{bundle.unpacked_bytes / 1024 / 1024:.1f} MB in {dest.parent}; "
                    "free some space and install again (nothing was installed)"
                ) from error
            raise BundleError(f"cannot unpack into {dest.parent}: {error.strerror or error}") from error

    async def _first_start(self, actor: Actor, report: InstallReport) -> InstallReport:
        """Start the extension once and compare the tools it lists with its manifest."""
        source = await self.store.get_source(report.extension.id)
        if not source.is_enabled:
            return report
        started = await self.starter.start(report.extension.id)
        comparison: ToolComparison | None = None
        if started.status.state is SourceState.RUNNING:
            comparison = ToolComparison(tuple(t.name for t in report.manifest.tools), started.tools)
            if comparison.differs:
                await self.record(
                    ExtensionToolsDiffer(
                        source=report.extension.id,
                        undeclared=comparison.undeclared,
                        not_listed=comparison.not_listed,
                        tools_generated=report.manifest.tools_generated,
                    ),
                    actor,
                )
        return dataclasses.replace(report, started=started, tools=comparison)

    # -- update ------------------------------------------------------------------------

    async def update_bundle(
        self, actor: Actor, path: Path, *, extension_id: str | None = None, start: bool = True
    ) -> InstallReport:
        """Replace an installed extension with the bundle's version, keeping its settings.

        The old version stays on disk until the new one has started and listed its tools;
        when it does not start, the old one is put back (and started) and UpdateFailed says why.
        """
        bundle, signature = await self.open_checked(path)
        manifest = bundle.manifest
        new_id = manifest.slug
        if extension_id is not None and extension_id != new_id:
            raise UsageError(f"{path.name} holds the extension '{new_id}', not '{extension_id}'")
        paths = ExtensionPaths(self.home, new_id)
        with paths.locked():
            old = await self.store.get_extension(new_id)
            if old.version == manifest.version:
                raise AlreadyExists(f"'{new_id}' {old.version} is installed already")
            old_manifest = manifest_of(old)
            current = load_values(new_id, old_manifest, old.settings, self.secrets)
            kept = {key: value for key, value in current.items() if key in manifest.user_config}
            dest = paths.version_dir(manifest.version)
            missing = check_settings(
                manifest, kept, bundle_dir=str(dest), dirs=self.user_dirs, platform=self.platform
            )
            plain, secret = split_sensitive(manifest, kept)
            old_sensitive = {k for k, o in old_manifest.user_config.items() if o.sensitive}
            new_secrets = [key for key in secret if key not in old_sensitive]
            updated = dataclasses.replace(
                old,
                version=manifest.version,
                manifest=dict(manifest.raw),
                install_dir=str(dest),
                signature=signature.status.value,
                signer=signature.subject,
                settings=plain,
                updated_at=_now(),
            )
            try:
                await self._unpack(bundle, dest)
                await self.starter.stop(new_id)
                save_secrets(new_id, secret, self.secrets)
                await self.store.replace_extension(updated)
            except BaseException:
                forget_secrets(new_id, new_secrets, self.secrets)
                remove_tree(dest)
                raise
            event = ExtensionUpdated(
                source=new_id,
                previous_version=old.version,
                version=manifest.version,
                signature=signature.status.value,
                signer=signature.subject,
            )
            report = InstallReport(
                updated, manifest, signature, bundle.warnings, tuple(missing), previous_version=old.version
            )
            source = await self.store.get_source(new_id)
            if start and not missing and source.is_enabled:
                report = await self._first_start(actor, report)
                assert report.started is not None
                if report.started.status.state is not SourceState.RUNNING:
                    forget_secrets(new_id, new_secrets, self.secrets)
                    await self._roll_back(actor, old, dest, event, report.started.status)
            dropped = [
                key
                for key, option in old_manifest.user_config.items()
                if option.sensitive and key not in secret
            ]
            forget_secrets(new_id, dropped, self.secrets)
            if Path(old.install_dir) != dest:
                remove_tree(Path(old.install_dir))
        await self.record(event, actor)
        return report

    async def _roll_back(
        self,
        actor: Actor,
        old: InstalledExtension,
        dest: Path,
        event: ExtensionUpdated,
        failed: SourceStatus,
    ) -> None:
        why = _failure_text(failed)
        state = "stopped"
        with anyio.CancelScope(shield=True):
            await self.starter.stop(old.id)
            await self.store.replace_extension(old)
            remove_tree(dest)
            state = (await self.starter.start(old.id)).status.state.value
            await self.record(dataclasses.replace(event, outcome="rolled_back", error=why), actor)
        raise UpdateFailed(
            f"{old.id} {event.version} did not start ({why}); {old.version} is back in place and {state}"
        )

    # -- settings ----------------------------------------------------------------------

    async def configure(
        self,
        actor: Actor,
        extension_id: str,
        settings: SettingTexts,
        *,
        unset: Sequence[str] = (),
        start: bool = True,
    ) -> InstallReport:
        """Change settings (``unset`` removes values); start the extension when it can now run."""
        paths = ExtensionPaths(self.home, extension_id)
        with paths.locked():
            extension = await self.store.get_extension(extension_id)
            manifest = manifest_of(extension)
            parsed = parse_settings(manifest, settings)
            unknown = [key for key in unset if key not in manifest.user_config]
            if unknown:
                raise UsageError(f"'{unknown[0]}' is not a setting of {extension_id}")
            current = load_values(extension_id, manifest, extension.settings, self.secrets)
            values = {**{k: v for k, v in current.items() if k not in unset}, **parsed}
            missing = check_settings(
                manifest,
                values,
                bundle_dir=extension.install_dir,
                dirs=self.user_dirs,
                platform=self.platform,
            )
            plain, secret = split_sensitive(manifest, values)
            save_secrets(extension_id, secret, self.secrets)
            forget_secrets(extension_id, [k for k in unset if k not in values], self.secrets)
            updated = dataclasses.replace(extension, settings=plain, updated_at=_now())
            await self.store.replace_extension(updated)
        changed = {key: values.get(key) for key in [*parsed, *unset]}
        await self.record(
            ExtensionConfigured(source=extension_id, changed=redacted(manifest, changed)), actor
        )
        report = InstallReport(updated, manifest, _signature_of(updated), missing=tuple(missing))
        if start and not missing:
            report = await self._first_start(actor, report)
        return report

    def values(self, extension: InstalledExtension) -> dict[str, object]:
        """Its settings, sensitive ones read from the secret store."""
        return load_values(extension.id, manifest_of(extension), extension.settings, self.secrets)

    # -- remove ------------------------------------------------------------------------

    async def remove_extension(self, actor: Actor, extension_id: str) -> InstalledExtension:
        """Stop it, forget it and its secrets, delete its files; its activity stays."""
        paths = ExtensionPaths(self.home, extension_id)
        with paths.locked():
            extension = await self.store.get_extension(extension_id)
            await self.starter.stop(extension_id)
            await self.store.remove_extension(extension_id)
            manifest = manifest_of(extension)
            forget_secrets(
                extension_id, [k for k, o in manifest.user_config.items() if o.sensitive], self.secrets
            )
            remove_tree(paths.root)
        await self.record(ExtensionRemoved(source=extension_id, version=extension.version), actor)
        return extension


def _source_row(extension_id: str, manifest: Manifest, dest: Path) -> SourceConfig:
    """The source row of an extension; what it runs is built from the manifest at each start."""
    config = manifest.server.mcp_config
    command = config.command if config is not None else manifest.server.type.value
    return SourceConfig(
        name=extension_id,
        kind=SourceKind.STDIO,
        command=command,
        args=config.args if config is not None else (manifest.server.entry_point,),
        cwd=str(dest),
    )


def _signature_of(extension: InstalledExtension) -> SignatureResult:
    return SignatureResult(SignatureStatus(extension.signature), subject=extension.signer)


def _failure_text(status: SourceStatus) -> str:
    text = status.detail or status.state.value
    if status.stderr_tail:
        text += "; last lines: " + " | ".join(status.stderr_tail[-5:])
    return text


def _now() -> datetime:
    return datetime.now(UTC)
