"""How a connector reaches its server: no auth, a static bearer header, a headers helper, legacy SSE,
both protocol versions, a dropped session, list_changed."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest
from mcp.server.mcpserver import MCPServer
from starlette.applications import Starlette

from tests.connectors.conftest import connector, remote, running, vault_for
from tests.connectors.servers import WAIT_S, serve_app, serve_tasks
from tether.config import Settings
from tether.connectors.transport import ConnectMode
from tether.types import SourceKind, SourceState

pytestmark = pytest.mark.anyio


async def test_a_server_without_auth_connects_at_once(settings: Settings) -> None:
    async with serve_tasks(auth="none") as server:
        vault = vault_for(settings.home, "open", server.mcp_url)
        async with running(remote(vault)) as source:
            assert source.status.state is SourceState.RUNNING
            assert source.transport == "streamable-http"
            with anyio.fail_after(WAIT_S):
                assert (await source.call_tool("whoami", {})).text == "demo"
        assert vault.load_grant() is None


async def test_a_static_bearer_header_is_sent_and_oauth_stays_out_of_the_way(settings: Settings) -> None:
    async with serve_tasks(auth="static", static_token="s3cret") as server:
        vault = vault_for(settings.home, "static", server.mcp_url)
        async with running(remote(vault)) as source:
            assert source.status.state is SourceState.NEEDS_SIGN_IN  # no header yet
        vault.save_headers({"Authorization": "Bearer s3cret"})
        async with running(remote(vault)) as source:
            assert source.status.state is SourceState.RUNNING
            with anyio.fail_after(WAIT_S):
                assert (await source.call_tool("whoami", {})).text == "static"


async def test_a_headers_helper_supplies_the_headers(settings: Settings, tmp_path: Path) -> None:
    helper = tmp_path / "helper.py"
    helper.write_text('print("Authorization: Bearer from-helper")\n')
    async with serve_tasks(auth="static", static_token="from-helper") as server:
        vault = vault_for(settings.home, "gateway", server.mcp_url)
        config = connector("gateway", server.mcp_url, helper=(sys.executable, str(helper)))
        async with running(remote(vault, config=config)) as source:
            assert source.status.state is SourceState.RUNNING
            with anyio.fail_after(WAIT_S):
                assert (await source.call_tool("whoami", {})).text == "static"


def _sse_server(_base_url: str) -> Starlette:
    server = MCPServer("legacy")

    @server.tool()
    def ping() -> str:
        """Answer pong."""
        return "pong"

    return server.sse_app()


@pytest.mark.parametrize("kind", [SourceKind.HTTP, SourceKind.SSE])
async def test_a_legacy_sse_server_is_reached_over_sse(settings: Settings, kind: SourceKind) -> None:
    async with serve_app(_sse_server) as base_url:
        vault = vault_for(settings.home, "legacy", base_url + "/sse")
        config = connector("legacy", vault.url, kind=kind)
        async with running(remote(vault, config=config)) as source:
            assert source.status.state is SourceState.RUNNING, source.status
            assert source.transport == "sse"
            with anyio.fail_after(WAIT_S):
                assert (await source.call_tool("ping", {})).text == "pong"


@pytest.mark.parametrize(("mode", "version"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")])
async def test_both_protocol_versions_and_list_changed(
    settings: Settings, mode: ConnectMode, version: str
) -> None:
    changed = anyio.Event()

    async def on_change(name: str) -> None:
        changed.set()

    async with serve_tasks(auth="none") as server:
        vault = vault_for(settings.home, "open", server.mcp_url)
        async with running(remote(vault, mode=mode, on_change=on_change)) as source:
            assert source.protocol_version == version
            with anyio.fail_after(WAIT_S):
                await source.call_tool("enable_archiving", {})
                await changed.wait()
            assert "archive_task" in {t.name for t in await source.list_tools()}


async def test_a_session_the_server_dropped_is_opened_again_transparently(settings: Settings) -> None:
    async with serve_tasks(auth="none") as server:
        vault = vault_for(settings.home, "open", server.mcp_url)
        async with running(remote(vault, mode="legacy")) as source:
            with anyio.fail_after(WAIT_S):
                await source.call_tool("create_task", {"title": "before"})
                assert server.drop_sessions() >= 1
                result = await source.call_tool("list_tasks", {})
            assert "before" in result.text
            assert source.status.state is SourceState.RUNNING
