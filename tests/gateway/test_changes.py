"""list_changed: a client hears when sources come and go or a policy hides a tool."""

from __future__ import annotations

from dataclasses import replace

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


async def test_a_silent_catalog_change_is_noticed_while_calls_keep_coming() -> None:
    """Calls publish events all the time; they must not push the periodic check away forever."""
    changed = anyio.Event()

    async def on_message(message: IncomingMessage) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    async with (
        in_process() as gw,
        Client(gw.gateway.server, mode="legacy", message_handler=on_message) as client,
    ):
        await client.list_tools()  # the handshake is done: the gateway knows this connection
        await gw.host.set_policy(ME, await gw.host.resolve("echo__echo"), Effect.ALLOW)
        with anyio.fail_after(WAIT_S):
            await changed.wait()  # a policy change is news for the tool list
        changed = anyio.Event()
        echo = next(source for source in gw.host.sources() if source.name == "echo")
        assert isinstance(echo, FakeSource)
        definition, handler = echo.tools["echo"]
        echo.tools["shout"] = (replace(definition, name="shout"), handler)  # no event says so
        with anyio.fail_after(WAIT_S):
            while not changed.is_set():
                await client.call_tool("echo__echo", {"text": "busy"})
        assert "echo__shout" in {t.name for t in (await client.list_tools()).tools}
