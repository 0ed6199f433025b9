"""Tool search: two meta-tools instead of the full list, calls still under tether's policy."""

from __future__ import annotations

from mcp import Client

from tests.gateway.conftest import in_process
from tether.gateway.callers import Caller
from tether.gateway.search import rank
from tether.types import Actor, Effect, HostedTool, ToolDef

ME = Actor("cli", "test")
SEARCHING = Caller(Actor("gateway", "stdio"), None, uses_tool_search=True)


def tool(name: str, description: str) -> HostedTool:
    return HostedTool(f"s__{name}", "s", ToolDef(name, description))


def test_ranking_prefers_name_matches_then_descriptions() -> None:
    tools = [
        tool("send_mail", "Send an email message."),
        tool("read_file", "Read a file from disk."),
        tool("list_mail", "List mail folders; read mail headers."),
    ]
    assert [t.name for t in rank(tools, "read mail", 2)] == ["list_mail", "read_file"]
    assert [t.name for t in rank(tools, "send_mail", 1)] == ["send_mail"]
    assert rank(tools, "calendar") == []


async def test_tool_search_lists_two_meta_tools_that_find_and_call_tools() -> None:
    async with in_process(caller=SEARCHING) as gw:
        await gw.host.set_policy(ME, await gw.host.resolve("echo__echo"), Effect.ALLOW)
        await gw.host.set_policy(ME, await gw.host.resolve("media__broken"), Effect.BLOCK)
        async with Client(gw.gateway.server, mode="legacy") as client:
            listed = {t.name for t in (await client.list_tools()).tools}
            found = await client.call_tool("search_tools", {"query": "echo text back", "limit": 3})
            hidden = await client.call_tool("search_tools", {"query": "always fails"})
            called = await client.call_tool(
                "call_tool", {"name": "echo__echo", "arguments": {"text": "via search"}}
            )
            blocked = await client.call_tool("call_tool", {"name": "media__broken", "arguments": {}})
        rows = await gw.activity()
    assert listed == {"search_tools", "call_tool"}
    assert found.structured_content is not None
    assert found.structured_content["tools"][0]["name"] == "echo__echo"
    assert hidden.structured_content == {"tools": []}
    assert called.content[0].model_dump()["text"] == "via search"
    assert (blocked.meta or {}).get("tether/error") == "tool_blocked"
    assert [(r.tool, r.data["outcome"]) for r in rows] == [("echo", "ok"), ("broken", "refused")]
