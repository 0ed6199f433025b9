"""Fixtures for connector tests: a data dir, a running App, sources started the way the host does."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest

from tests.connectors.servers import WAIT_S, Browser
from tests.npm_tools import NodeTools, install_node_tools
from tether.app import App, open_app
from tether.config import Settings, load_settings
from tether.connectors.login import SignInResult, sign_in
from tether.connectors.netguard import NetworkGuard
from tether.connectors.oauth import ConnectorAuth
from tether.connectors.remote import OnChange, RemoteSource
from tether.connectors.transport import ConnectMode
from tether.connectors.vault import ConnectorVault
from tether.store.secrets import FileSecrets
from tether.types import Actor, SourceConfig, SourceKind, SourceState

ME = Actor("test", "me")


@pytest.fixture(scope="session")
def node_tools() -> NodeTools:
    """The official conformance suite (with Node 22) from npm."""
    return install_node_tools()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        {
            "TETHER_HOME": str(tmp_path / "home"),
            "TETHER_CONFIG": str(tmp_path / "tether.toml"),
            "TETHER_SECRETS_BACKEND": "file",
            "TETHER_START_TIMEOUT_S": "10",
        }
    )


def connector(
    name: str, url: str, *, kind: SourceKind = SourceKind.HTTP, helper: tuple[str, ...] = ()
) -> SourceConfig:
    """A connector config; ``helper`` is a headers helper command."""
    command = helper[0] if helper else None
    return SourceConfig(name=name, kind=kind, url=url, call_timeout_s=10.0, command=command, args=helper[1:])


def vault_for(home: Path, name: str, url: str) -> ConnectorVault:
    home.mkdir(parents=True, exist_ok=True)
    return ConnectorVault(FileSecrets(home), name, url)


def remote(
    vault: ConnectorVault,
    *,
    config: SourceConfig | None = None,
    mode: ConnectMode = "auto",
    on_change: OnChange | None = None,
) -> RemoteSource:
    """A source as the app builds it, with quick retries."""
    return RemoteSource(
        config or connector(vault.name, vault.url),
        vault=vault,
        auth=ConnectorAuth(vault, guard=NetworkGuard(vault.url)),
        mode=mode,
        on_change=on_change,
        connect_timeout_s=WAIT_S,
        backoff_initial_s=0.01,
        backoff_max_s=0.05,
        sign_in_poll_s=0.05,
    )


async def login(vault: ConnectorVault, browser: Browser | None = None) -> SignInResult:
    with anyio.fail_after(WAIT_S):
        return await sign_in(vault, (browser or Browser()).present, guard=NetworkGuard(vault.url))


@asynccontextmanager
async def running(source: RemoteSource) -> AsyncGenerator[RemoteSource]:
    """Start ``source`` as the host does (returns after the first attempt); close it at the end."""
    async with anyio.create_task_group() as tg:
        with anyio.fail_after(WAIT_S):
            await tg.start(source.run)
        try:
            yield source
        finally:
            with anyio.fail_after(WAIT_S, shield=True):
                await source.close()


async def wait_for(source: RemoteSource, *states: SourceState) -> None:
    with anyio.fail_after(WAIT_S):
        await source.wait_state(*states)


@asynccontextmanager
async def app_on(settings: Settings) -> AsyncGenerator[App]:
    from tests.fakes import ScriptedApprover
    from tether.types import Verdict

    async with open_app(settings, approvers=[ScriptedApprover(*[Verdict.APPROVED_ONCE] * 20)]) as app:
        yield app
