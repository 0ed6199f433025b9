"""list_changed: a client hears when sources come and go or a policy hides a tool."""

from __future__ import annotations

import anyio
from mcp import Client, types
from mcp.client.session import IncomingMessage

from tests.fakes import FakeSource
from tests.gateway.conftest import WAIT_S, in_process
from tether.types import Actor, Effect

ME = Actor("cli", "test")


async def test_a_2025_client_is_told_when_a_blocked_tool_leaves_the_list() -> None:
    changed = anyio.Event()

    async def on_message(message: IncomingMessage) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    async with (
        in_process() as gw,
        Client(gw.gateway.server, mode="legacy", message_handler=on_message) as client,
    ):
        assert "echo__echo" in {t.name for t in (await client.list_tools()).tools}
        await gw.host.set_policy(ME, await gw.host.resolve("echo__echo"), Effect.BLOCK)
        with anyio.fail_after(WAIT_S):
            await changed.wait()
        assert "echo__echo" not in {t.name for t in (await client.list_tools()).tools}


async def test_a_2026_client_listening_is_told_when_a_source_is_added() -> None:
    async with (
        in_process() as gw,
        Client(gw.gateway.server, mode="auto") as client,
        client.listen(tools_list_changed=True) as subscription,
    ):
        await gw.host.add_source(FakeSource.echo("late"))
        with anyio.fail_after(WAIT_S):
            async for _ in subscription:
                break
        assert "late__echo" in {t.name for t in (await client.list_tools()).tools}
