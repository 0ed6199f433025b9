"""The composition root: the only module that wires concrete classes together.

``open_app`` opens the store and the secret store, builds the Host, and knows how to turn
a stored SourceConfig into a running source. Interfaces (CLI, web, gateway) get an ``App``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from tether.config import Settings, load_settings
from tether.core.activity import SourceAdded, SourceRemoved, SourceToggled
from tether.core.approvals import Approver
from tether.core.host import Host
from tether.core.mcpservers import ImportReport, parse_mcp_servers, render_mcp_servers
from tether.core.storage import SecretStore
from tether.core.tools import ToolSource, check_source_name
from tether.errors import AlreadyExists, UnknownSource
from tether.store.db import SqlStore, open_store
from tether.store.secrets import open_secret_store
from tether.types import Actor, SourceConfig, SourceKind

SECRET_PREFIX = "secret:"


@dataclass
class App:
    settings: Settings
    store: SqlStore
    secrets: SecretStore
    host: Host

    # -- sources: configuration ---------------------------------------------------------

    async def add_source(self, actor: Actor, config: SourceConfig) -> None:
        check_source_name(config.name)
        stored = self._hide_env(config)
        await self.store.add_source(stored)
        await self.host.record(SourceAdded(source=config.name, config=describe(stored)), actor=actor)

    async def remove_source(self, actor: Actor, name: str) -> None:
        config = await self.store.get_source(name)
        if name in {s.name for s in self.host.sources()}:
            await self.host.remove_source(name)
        await self.store.remove_source(name)
        for key in config.env:
            self.secrets.delete_secret(_env_key(name, key))
        await self.host.record(SourceRemoved(source=name), actor=actor)

    async def set_enabled(self, actor: Actor, name: str, *, is_enabled: bool) -> None:
        config = await self.store.get_source(name)
        if config.is_enabled == is_enabled:
            return
        await self.store.update_source(dataclasses.replace(config, is_enabled=is_enabled))
        await self.host.record(SourceToggled(source=name, is_enabled=is_enabled), actor=actor)

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
            if c.is_enabled
            and c.kind is SourceKind.STDIO
            and c.name not in running
            and (names is None or c.name in names)
        ]
        if names is not None:
            missing = set(names) - {c.name for c in configs}
            if missing:
                raise UnknownSource(f"no source named '{sorted(missing)[0]}': see `tether source list`")
        await self.host.add_sources(
            [(self._build_source(await self.source_config(c.name)), c.skip_approvals) for c in wanted]
        )

    async def reconcile(self) -> None:
        """Bring running sources in line with the stored configs (another process may have edited them)."""
        configs = {c.name: c for c in await self.store.list_sources()}
        for source in self.host.sources():
            config = configs.get(source.name)
            if config is None or not config.is_enabled:
                await self.host.remove_source(source.name)
        await self.start_sources()

    def _build_source(self, config: SourceConfig) -> ToolSource:
        # Imported here: the MCP SDK costs half a second of start-up that most commands never need.
        from tether.extensions.runner import StdioSource

        return StdioSource(
            config,
            log_dir=self.settings.log_dir,
            start_timeout_s=self.settings.start_timeout_s,
            max_start_failures=self.settings.max_start_failures,
            on_change=self.host.sync_catalog,
        )

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
        return render_mcp_servers([await self.source_config(c.name) for c in await self.store.list_sources()])

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


def _env_key(source: str, key: str) -> str:
    return f"source/{source}/env/{key}"


@asynccontextmanager
async def open_app(
    settings: Settings | None = None, *, approvers: Sequence[Approver] = ()
) -> AsyncGenerator[App]:
    settings = settings or load_settings()
    store = await open_store(settings.home)
    try:
        secrets = open_secret_store(settings.home, settings.secrets_backend)
        skips = {c.name: c.skip_approvals for c in await store.list_sources()}
        async with Host(
            store, approvers=approvers, approval_timeout_s=settings.approval_timeout_s, skip_approvals=skips
        ) as host:
            yield App(settings, store, secrets, host)
    finally:
        await store.close()
