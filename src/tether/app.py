"""The composition root: the only module that wires concrete classes together.

``open_app`` opens the store and the secret store, builds the Host, and knows how to turn
a stored SourceConfig into a running source. Interfaces (CLI, web, gateway) get an ``App``.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

import anyio

from tether.config import Settings, load_settings
from tether.core.activity import ActivityEvent, SourceAdded, SourceChanged, SourceRemoved, SourceToggled
from tether.core.approvals import Approver
from tether.core.events import ApprovalPending
from tether.core.host import Host
from tether.core.mcpservers import ImportReport, parse_mcp_servers, render_mcp_servers
from tether.core.storage import ActivityFilter, InstalledExtension, SecretStore
from tether.core.tools import ToolSource, check_source_name
from tether.errors import AlreadyExists, TetherError, UnknownExtension, UnknownSource, UsageError
from tether.sandbox import SandboxPolicy, best_launcher
from tether.store.db import SqlStore, open_store, url_has_password, url_with_password
from tether.store.secrets import open_secret_store
from tether.types import JSON, Actor, SourceConfig, SourceKind, SourceState, SourceStatus

if TYPE_CHECKING:
    from tether.chat.assistant import Assistant
    from tether.chat.models import ModelRegistry
    from tether.connectors.directory import Directory, DirectoryEntry
    from tether.connectors.editing import ConnectorChange, ConnectorEdited
    from tether.connectors.netguard import NetworkGuard
    from tether.connectors.vault import ConnectorVault
    from tether.extensions.installed import StartPlan
    from tether.extensions.installer import Installer, InstallReport, SettingTexts, StartReport

SECRET_PREFIX = "secret:"
SANDBOX_SETTING = "extension.sandbox"
BUILTINS_SETTING = "builtins.offered"
DIRECTORY_ORIGIN_SETTING = "directory.origin"
"""``directory.origin/<extension id>``: the directory entry an extension was installed from."""


@dataclass
class App:
    settings: Settings
    store: SqlStore
    secrets: SecretStore
    host: Host
    _extensions_built: dict[str, datetime] = field(default_factory=dict[str, datetime], repr=False)
    """Running extensions -> the ``updated_at`` of the record they were built from."""

    # -- sources: configuration ---------------------------------------------------------

    async def add_source(self, actor: Actor, config: SourceConfig) -> None:
        check_source_name(config.name)
        stored = self._hide_env(config)
        await self.store.add_source(stored)
        await self.host.record(SourceAdded(source=config.name, config=describe(stored)), actor=actor)

    async def remove_source(self, actor: Actor, name: str) -> None:
        if name in await self._installed_extensions():
            await self.extensions().remove_extension(actor, name)
            return
        config = await self.store.get_source(name)
        if name in {s.name for s in self.host.sources()}:
            await self.host.remove_source(name)
        await self.store.remove_source(name)
        for key in config.env:
            self.secrets.delete_secret(_env_key(name, key))
        if config.kind is not SourceKind.STDIO:
            self.connector_vault(config).forget_all()
        await self.host.record(SourceRemoved(source=name), actor=actor)

    async def set_enabled(self, actor: Actor, name: str, *, is_enabled: bool) -> None:
        config = await self.store.get_source(name)
        if config.is_enabled == is_enabled:
            return
        await self.store.update_source(dataclasses.replace(config, is_enabled=is_enabled))
        await self.host.record(SourceToggled(source=name, is_enabled=is_enabled), actor=actor)

    async def edit_connector(self, actor: Actor, name: str, change: ConnectorChange) -> ConnectorEdited:
        """Check and save ``change`` (nothing is written when a field is wrong), record it, and
        stop the running connector so the next start uses the new settings."""
        from tether.connectors.editing import edit_connector

        config = await self.store.get_source(name)
        edited = await edit_connector(self.store, self.connector_vault(config), config, change)
        new = edited.config
        shown: dict[str, JSON] = {
            "url": new.url,
            "transport": new.kind.value,
            "timeout": new.call_timeout_s,
            "headers": sorted(self.connector_vault(new).load_headers()),
            "oauth_client": (
                client.info.client_id
                if (client := self.connector_vault(new).load_client()) and client.is_pre_registered
                else None
            ),
        }
        for setting in edited.changed:
            await self.host.record(
                SourceChanged(source=name, setting=setting, value=shown[setting]), actor=actor
            )
        if edited.changed and name in {s.name for s in self.host.sources()}:
            await self.host.remove_source(name)
        return edited

    async def source_config(self, name: str) -> SourceConfig:
        """The stored config with its secrets filled in, ready to launch."""
        config = await self.store.get_source(name)
        env = {key: self._reveal(value) for key, value in config.env.items()}
        return dataclasses.replace(config, env=env)

    # -- sources: running ---------------------------------------------------------------

    async def start_sources(self, names: Sequence[str] | None = None) -> None:
        """Start the enabled local sources (all of them, or ``names``) concurrently."""
        running = {s.name for s in self.host.sources()}
        configs = await self.store.list_sources()
        wanted = [
            c
            for c in configs
            if c.is_enabled and c.name not in running and (names is None or c.name in names)
        ]
        if names is not None:
            missing = set(names) - {c.name for c in configs}
            if missing:
                raise UnknownSource(f"no source named '{sorted(missing)[0]}': see `tether source list`")
        extensions = await self._installed_extensions() if wanted else {}
        await self.host.add_sources(
            [
                (
                    await self._build_source(await self.source_config(c.name), extensions.get(c.name)),
                    c.skip_approvals,
                )
                for c in wanted
            ]
        )

    async def reconcile(self) -> None:
        """Bring running sources in line with the stored configs (another process may have edited them)."""
        configs = {c.name: c for c in await self.store.list_sources()}
        extensions = await self._installed_extensions()
        for source in self.host.sources():
            config = configs.get(source.name)
            built = self._extensions_built.get(source.name)
            is_stale = built is not None and (
                source.name not in extensions or extensions[source.name].updated_at != built
            )
            if config is None or not config.is_enabled or is_stale or _is_edited(source, config):
                await self.host.remove_source(source.name)
                self._extensions_built.pop(source.name, None)
        await self.start_sources()

    async def watch_store(self, *, every_s: float = 0.5) -> None:
        """Publish the activity rows and pending approvals other tether processes write; runs until
        cancelled. Live views (the web UI, the gateway's list_changed) then see every change."""
        newest = await self.store.records(ActivityFilter(limit=1, newest_first=True))
        last = newest[0].seq if newest else 0
        while True:
            await anyio.sleep(every_s)
            for record in await self.store.records(ActivityFilter(after_seq=last)):
                self.host.events.publish(record)
                last = record.seq
            for pending in await self.store.pending_approvals():
                self.host.events.publish(ApprovalPending(pending.request))

    async def _build_source(
        self, config: SourceConfig, extension: InstalledExtension | None = None
    ) -> ToolSource:
        if extension is not None:
            return await self._build_extension(config, extension)
        if config.kind is not SourceKind.STDIO:
            return self._build_connector(config)
        # Imported here: the MCP SDK costs half a second of start-up that most commands never need.
        from tether.extensions.runner import StdioSource

        return StdioSource(
            config,
            log_dir=self.settings.log_dir,
            start_timeout_s=self.settings.start_timeout_s,
            max_start_failures=self.settings.max_start_failures,
            on_change=self.host.sync_catalog,
        )

    def _build_connector(self, config: SourceConfig) -> ToolSource:
        from tether.connectors.oauth import ConnectorAuth
        from tether.connectors.remote import RemoteSource

        vault = self.connector_vault(config)
        auth = ConnectorAuth(vault, guard=self.network_guard(config))
        return RemoteSource(
            config,
            vault=vault,
            auth=auth,
            connect_timeout_s=self.settings.start_timeout_s,
            on_change=self.host.sync_catalog,
        )

    async def _build_extension(self, stored: SourceConfig, extension: InstalledExtension) -> ToolSource:
        """The extension's server from its manifest and settings, or a stand-in saying why it cannot run."""
        from tether.extensions.installed import UnstartedSource, plan_start
        from tether.extensions.runtimes import find_commands

        values = self.extensions().values(extension)
        commands = find_commands()
        if is_builtin(extension):
            # tether's own extensions use the packages tether was installed with (mcp, pypdfium2...).
            commands["python"] = commands["python3"] = sys.executable
        plan = plan_start(extension, values, stored, home=self.settings.home, commands=commands)
        self._extensions_built[extension.id] = extension.updated_at
        if plan.config is None:
            return UnstartedSource(extension.id, plan.status)
        self.host.set_grants(extension.id, plan.grants)
        from tether.extensions.runner import StdioSource

        return StdioSource(
            plan.config,
            log_dir=self.settings.log_dir,
            launcher=best_launcher(await self.sandbox_policy(extension, plan)),
            start_timeout_s=self.settings.start_timeout_s,
            max_start_failures=self.settings.max_start_failures,
            on_change=self.host.sync_catalog,
        )

    async def install_builtins(self, actor: Actor) -> tuple[list[str], list[str]]:
        """Install the built-in extensions on first run, through the same installer as any bundle.

        A built-in the user removed is not installed again: each is offered once per data dir.
        """
        from tether.builtin import BUILTINS, builtin_dir
        from tether.extensions.pack import pack_bundle

        offered: object = await self.store.get_setting(BUILTINS_SETTING)
        done = {str(n) for n in cast(list[object], offered)} if isinstance(offered, list) else set[str]()
        installed: list[str] = []
        problems: list[str] = []
        for name in BUILTINS:
            if name in done:
                continue
            with tempfile.TemporaryDirectory(prefix="tether-builtin-") as scratch:
                bundle = Path(scratch) / f"{name}.mcpb"
                bundle.write_bytes(pack_bundle(builtin_dir(name)))
                try:
                    await self.extensions().install_bundle(actor, bundle, start=False)
                    installed.append(name)
                except AlreadyExists:
                    pass
                except TetherError as error:
                    problems.append(f"built-in '{name}' was not installed: {error}")
            done.add(name)
            await self.store.set_setting(BUILTINS_SETTING, sorted(done))
        return installed, problems

    async def sandbox_policy(self, extension: InstalledExtension, plan: StartPlan) -> SandboxPolicy:
        """What the extension's process may reach: its bundle, its data dir, the paths its settings
        name (written only where its manifest says so), and the network when allowed."""
        from tether.extensions.installed import needs_network
        from tether.extensions.layout import ExtensionPaths

        choice = await self.sandbox_choice(extension.id)
        allow_network = choice.get("allow_network")
        paths = ExtensionPaths(self.settings.home, extension.id)
        writable = {Path(p) for p in plan.writable}
        granted = [Path(p) for p in plan.grants if Path(p) != paths.data_dir]
        extra = choice.get("extra_paths")
        # A uv server builds its environment in uv-env and fetches its dependencies on first start.
        is_uv = manifest_server_type(extension.manifest) == "uv"
        if is_uv:
            await anyio.Path(paths.uv_env).mkdir(parents=True, exist_ok=True)
        # Without a bundled uv.lock, uv writes one into the project: then the bundle is writable.
        unlocked = is_uv and not await anyio.Path(extension.install_dir, "uv.lock").exists()
        return SandboxPolicy(
            bundle_dir=None if unlocked else Path(extension.install_dir),
            data_dir=paths.data_dir,
            read_only_paths=tuple(p for p in granted if p not in writable),
            read_write_paths=(
                *((paths.uv_env,) if is_uv else ()),
                *((Path(extension.install_dir),) if unlocked else ()),
                *(p for p in granted if p in writable),
            ),
            extra_paths=tuple(Path(str(p)) for p in cast(list[object], extra))
            if isinstance(extra, list)
            else (),
            allow_network=allow_network
            if isinstance(allow_network, bool)
            else (is_uv or needs_network(extension.manifest)),
        )

    async def sandbox_choice(self, extension_id: str) -> dict[str, object]:
        """The user's "allow network" and "extra paths" choices for one extension."""
        stored: object = await self.store.get_setting(f"{SANDBOX_SETTING}/{extension_id}")
        return dict(cast(dict[str, object], stored)) if isinstance(stored, dict) else {}

    async def set_sandbox_choice(
        self,
        actor: Actor,
        extension_id: str,
        *,
        allow_network: bool | None,
        extra_paths: Sequence[str] | None,
    ) -> None:
        choice = await self.sandbox_choice(extension_id)
        if allow_network is not None:
            choice["allow_network"] = allow_network
        if extra_paths is not None:
            choice["extra_paths"] = list(extra_paths)  # absolute: the interfaces resolve them
        await self.store.set_setting(f"{SANDBOX_SETTING}/{extension_id}", cast(dict[str, JSON], choice))
        await self.host.record(
            SourceChanged(source=extension_id, setting="sandbox", value=choice), actor=actor
        )
        if extension_id in {s.name for s in self.host.sources()}:
            await self.host.remove_source(extension_id)
            await self.start_sources([extension_id])

    # -- extensions ---------------------------------------------------------------------

    def extensions(self) -> Installer:
        """Install, update, configure and remove extensions; they start in this app's host."""
        from importlib.metadata import version

        from tether.extensions.installer import Installer
        from tether.extensions.trust import load_trusted_roots

        settings = self.settings

        async def record(event: ActivityEvent, actor: Actor) -> None:
            await self.host.record(event, actor=actor)

        return Installer(
            home=settings.home,
            store=self.store,
            secrets=self.secrets,
            record=record,
            starter=_HostStarter(self),
            trusted_roots=lambda: load_trusted_roots(settings.trusted_signers or None),
            require_signed=settings.require_signed_extensions,
            tether_version=version("tether"),
        )

    async def start_extension(self, extension_id: str) -> StartReport:
        """(Re)start an extension in this app's host; report after its first connection attempt."""
        from tether.extensions.installer import StartReport

        await self.stop_extension(extension_id)
        await self.start_sources([extension_id])
        if extension_id not in {s.name for s in self.host.sources()}:
            return StartReport(SourceStatus(SourceState.DISABLED, "disabled: `tether ext enable` starts it"))
        source = self.host.source(extension_id)
        tools = await source.list_tools()
        return StartReport(source.status, tuple(tool.name for tool in tools))

    async def stop_extension(self, extension_id: str) -> None:
        if extension_id in {s.name for s in self.host.sources()}:
            await self.host.remove_source(extension_id)
        self.host.set_grants(extension_id, None)
        self._extensions_built.pop(extension_id, None)

    async def _installed_extensions(self) -> dict[str, InstalledExtension]:
        return {e.id: e for e in await self.store.list_extensions()}

    def connector_vault(self, config: SourceConfig) -> ConnectorVault:
        from tether.connectors.vault import ConnectorVault

        return ConnectorVault(self.secrets, config.name, config.url or "")

    def network_guard(self, config: SourceConfig) -> NetworkGuard:
        from tether.connectors.netguard import NetworkGuard

        return NetworkGuard(config.url or "", allow_private=self.settings.oauth_private_urls == "allow")

    @property
    def client_metadata_url(self) -> str | None:
        """tether's Client ID Metadata Document for OAuth sign-ins (setting oauth_client_metadata_url)."""
        return self.settings.oauth_client_metadata_url or None

    # -- the assistant ------------------------------------------------------------------

    def models(self) -> ModelRegistry:
        """The assistant's model configs (``tether model``); cheap, loads no provider SDK."""
        from tether.chat.models import ModelRegistry

        async def record(event: ActivityEvent, actor: Actor) -> None:
            await self.host.record(event, actor=actor)

        return ModelRegistry(self.store, self.secrets, record)

    def assistant(self) -> Assistant:
        """The chat assistant over this app's host; loads pydantic-ai."""
        from tether.chat.assistant import Assistant, ChatOptions

        options = ChatOptions(
            tool_search_threshold=self.settings.chat_tool_search_threshold,
            max_tool_calls=self.settings.chat_max_tool_calls,
            model_timeout_s=self.settings.chat_model_timeout_s,
        )
        return Assistant(self.host, self.store, self.secrets, options)

    # -- import / export ----------------------------------------------------------------

    async def import_servers(self, actor: Actor, text: str) -> ImportReport:
        report = parse_mcp_servers(text)
        existing = {c.name for c in await self.store.list_sources()}
        for config in report.sources:
            if config.name in existing:
                report.problems.append(
                    f"'{config.name}': a source with this name exists already; not imported"
                )
                continue
            try:
                await self.add_source(actor, config)
            except AlreadyExists:
                report.problems.append(f"'{config.name}': added by someone else meanwhile; not imported")
                continue
            report.imported.append(config.name)
        return report

    async def export_servers(self) -> str:
        """Every source as mcpServers JSON; connectors' static headers by name only, as placeholders."""
        configs = [await self.source_config(c.name) for c in await self.store.list_sources()]
        header_names = {
            c.name: sorted(self.connector_vault(c).load_headers())
            for c in configs
            if c.kind is not SourceKind.STDIO
        }
        return render_mcp_servers(configs, header_names)

    # -- the directory ------------------------------------------------------------------

    def directory(self) -> Directory:
        return open_directory(self.settings)

    async def install_from_directory(
        self, actor: Actor, entry_id: str, *, settings: SettingTexts | None = None, start: bool = True
    ) -> InstallReport:
        """Download the entry's bundle, check its sha256 before opening it, install it and record
        which entry it came from (``tether ext outdated`` compares against that entry)."""
        entry = await self.directory().get(entry_id)
        async with _directory_bundle(entry) as path:
            report = await self.extensions().install_bundle(actor, path, settings=settings, start=start)
        await self._remember_origin(report.extension.id, entry)
        return report

    async def update_from_directory(self, actor: Actor, extension_id: str) -> InstallReport:
        """Update an extension installed from the directory to its entry's current bundle."""
        entry_id = await self.directory_origin(extension_id)
        if entry_id is None:
            await self.store.get_extension(extension_id)  # UnknownExtension first, when it is that
            raise UsageError(
                f"'{extension_id}' was not installed from the directory: "
                f"update it with `tether ext update {extension_id} BUNDLE`"
            )
        entry = await self.directory().get(entry_id)
        async with _directory_bundle(entry) as path:
            report = await self.extensions().update_bundle(actor, path, extension_id=extension_id)
        await self._remember_origin(extension_id, entry)
        return report

    async def remember_directory_origin(self, extension_id: str, entry: DirectoryEntry) -> None:
        """For an extension installed from ``entry`` some other way (the web UI's preview first)."""
        await self._remember_origin(extension_id, entry)

    async def _remember_origin(self, extension_id: str, entry: DirectoryEntry) -> None:
        extension = await self.store.get_extension(extension_id)
        origin: dict[str, JSON] = {
            "id": entry.id,
            "origin": entry.origin,
            "version": entry.version,
            "installed_at": extension.installed_at.isoformat(),
        }
        await self.store.set_setting(f"{DIRECTORY_ORIGIN_SETTING}/{extension_id}", origin)

    async def directory_origin(self, extension_id: str) -> str | None:
        """The id of the directory entry the extension was installed from, if it was (one removed
        and installed again from a file is not matched: its install time differs)."""
        stored: object = await self.store.get_setting(f"{DIRECTORY_ORIGIN_SETTING}/{extension_id}")
        if not isinstance(stored, dict):
            return None
        origin = cast(dict[str, object], stored)
        try:
            extension = await self.store.get_extension(extension_id)
        except UnknownExtension:
            return None
        found = origin.get("id")
        is_same_install = origin.get("installed_at") == extension.installed_at.isoformat()
        return found if isinstance(found, str) and is_same_install else None

    async def directory_updates(self) -> list[tuple[InstalledExtension, DirectoryEntry | None, str | None]]:
        """Each extension installed from the directory with its entry now (None and why, when the
        entry cannot be had); ``is_newer`` tells which ones have an update."""
        from tether.errors import NotFound

        directory = self.directory()
        found: list[tuple[InstalledExtension, DirectoryEntry | None, str | None]] = []
        for extension in await self.store.list_extensions():
            entry_id = await self.directory_origin(extension.id)
            if entry_id is None:
                continue
            try:
                found.append((extension, await directory.get(entry_id), None))
            except NotFound as error:
                found.append((extension, None, error.message))
        return found

    # -- secrets ------------------------------------------------------------------------

    def _hide_env(self, config: SourceConfig) -> SourceConfig:
        hidden: dict[str, str] = {}
        for key, value in config.env.items():
            secret_key = _env_key(config.name, key)
            self.secrets.set_secret(secret_key, value)
            hidden[key] = SECRET_PREFIX + secret_key
        return dataclasses.replace(config, env=hidden)

    def _reveal(self, value: str) -> str:
        if value.startswith(SECRET_PREFIX):
            return self.secrets.get_secret(value.removeprefix(SECRET_PREFIX)) or ""
        return value


class _HostStarter:
    """The installer's ``Starter``: runs an extension's source in the app's host."""

    def __init__(self, app: App) -> None:
        self._app = app

    async def start(self, extension_id: str) -> StartReport:
        return await self._app.start_extension(extension_id)

    async def stop(self, extension_id: str) -> None:
        await self._app.stop_extension(extension_id)


def describe(config: SourceConfig) -> dict[str, object]:
    """A config as it may be shown and logged: env values never appear."""
    return {
        "kind": config.kind.value,
        "command": config.command,
        "args": list(config.args),
        "env": sorted(config.env),
        "cwd": config.cwd,
        "url": config.url,
        "is_enabled": config.is_enabled,
    }


def _is_edited(source: ToolSource, stored: SourceConfig) -> bool:
    """A running connector whose URL, transport or timeout was edited (maybe by another process)."""
    built = getattr(source, "config", None)
    if stored.kind is SourceKind.STDIO or not isinstance(built, SourceConfig):
        return False
    return (built.url, built.kind, built.call_timeout_s) != (stored.url, stored.kind, stored.call_timeout_s)


def _env_key(source: str, key: str) -> str:
    return f"source/{source}/env/{key}"


@asynccontextmanager
async def open_app(
    settings: Settings | None = None, *, approvers: Sequence[Approver] = ()
) -> AsyncGenerator[App]:
    settings = settings or load_settings()
    # Opened ahead of the store only when the database password may be kept there.
    early = (
        open_secret_store(settings.home, settings.secrets_backend) if settings.database_url.strip() else None
    )
    store = await open_store(store_location(settings, early))
    try:
        secrets = early or open_secret_store(settings.home, settings.secrets_backend)
        skips = {c.name: c.skip_approvals for c in await store.list_sources()}
        async with (
            Host(
                store,
                approvers=approvers,
                approval_timeout_s=settings.approval_timeout_s,
                skip_approvals=skips,
            ) as host,
            AsyncExitStack() as team,
        ):
            if settings.redis_url.strip():
                from tether.store.relay import relayed_events  # only team mode loads redis

                await team.enter_async_context(
                    relayed_events(
                        settings.redis_url.strip(),
                        store,
                        host.events,
                        verdict_poll_s=settings.relay_verdict_poll_s,
                    )
                )
            yield App(settings, store, secrets, host)
    finally:
        await store.close()


DATABASE_PASSWORD_SECRET = "database/password"
"""The secret holding the password of ``database_url`` when the URL has none (`tether db password`)."""


def store_location(settings: Settings, secrets: SecretStore | None) -> Path | str:
    """Where the store is: the data dir, or ``database_url`` with its password from the secret store."""
    url = settings.database_url.strip()
    if not url:
        return settings.home
    if url_has_password(url) or secrets is None:
        return url
    return url_with_password(url, secrets.get_secret(DATABASE_PASSWORD_SECRET))


@asynccontextmanager
async def _directory_bundle(entry: DirectoryEntry) -> AsyncGenerator[Path]:
    """The entry's bundle, downloaded and its sha256 checked, as a file for the block."""
    from tether.extensions.bundle import BundleLimits
    from tether.extensions.download import downloaded

    if entry.bundle_url is None or entry.bundle_sha256 is None:
        raise UsageError(
            f"'{entry.id}' is a remote connector, not an extension: "
            f"add it with `tether connector add --from-directory {entry.id}`"
        )
    limit = BundleLimits().max_file_bytes
    async with downloaded(entry.bundle_url, max_bytes=limit, sha256=entry.bundle_sha256) as path:
        yield path


def open_directory(settings: Settings) -> Directory:
    """The directory (curated catalog + MCP Registry) as the settings configure it."""
    from tether.connectors.directory import Directory

    return Directory(
        registry_url=settings.directory_registry_url.strip() or None,
        cache_dir=settings.home / "cache" / "directory",
        cache_ttl_s=settings.directory_cache_ttl_s,
    )


def is_newer(available: str | None, installed: str) -> bool:
    """Whether the version ``available`` is a newer semantic version than ``installed``."""
    from tether.extensions.semver import Version

    if available is None:
        return False
    try:
        return Version.parse(available) > Version.parse(installed)
    except ValueError:
        return False


def is_builtin(extension: InstalledExtension) -> bool:
    """One of tether's own extensions: named like one and carrying tether's manifest hints."""
    from tether.builtin import BUILTINS

    meta = extension.manifest.get("_meta")
    return extension.id in BUILTINS and isinstance(meta, dict) and "tether" in meta


def manifest_server_type(manifest: Mapping[str, object]) -> str | None:
    server = manifest.get("server")
    kind = cast(Mapping[str, object], server).get("type") if isinstance(server, Mapping) else None
    return kind if isinstance(kind, str) else None
