"""``tether mcp`` as a client runs it: a real child process, real stdio sources, real SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from mcp import Client, types
from mcp.client.context import ClientRequestContext

from tests.gateway.processes import ECHO, WAIT_S, Home, make_home
from tether.core.storage import ActivityFilter
from tether.store import open_store


@pytest.fixture
async def home(tmp_path: Path) -> Home:
    home = make_home(tmp_path / "home")
    await home.configure({"echo": ECHO, "other": ECHO})
    return home


def approve_once(asked: list[str], was_asked: anyio.Event | None = None) -> Any:
    async def elicit(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        asked.append(params.message)
        if was_asked is not None:
            was_asked.set()
        return types.ElicitResult(action="accept", content={"decision": "once"})

    return elicit


async def calls(home: Home) -> list[dict[str, Any]]:
    async with await open_store(home.path) as store:
        rows = await store.records(ActivityFilter(kind="tool.called"))
    return [{"actor": r.actor, "tool": r.tool, **r.data} for r in rows]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_client_lists_and_calls_over_stdio_approving_in_the_client(home: Home, mode: str) -> None:
    asked: list[str] = []
    with anyio.fail_after(WAIT_S):
        async with Client(home.mcp(), mode=mode, elicitation_callback=approve_once(asked)) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            result = await client.call_tool("echo__echo", {"text": "over stdio"})
    assert {"echo__echo", "echo__add", "other__echo"} <= names
    assert result.content[0].model_dump()["text"] == "over stdio"
    assert len(asked) == 1
    rows = await calls(home)
    assert [(r["actor"], r["outcome"], r["verdict"]) for r in rows] == [
        ("gateway:stdio", "ok", "approved_once")
    ]


async def test_without_elicitation_a_call_waits_for_tether_approvals_approve(home: Home) -> None:
    approved: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if not approved and message and "tether approvals approve" in message:
            approval_id = message.split()[1]
            approved.append(approval_id)
            await anyio.to_thread.run_sync(home.tether, "approvals", "approve", approval_id)

    with anyio.fail_after(WAIT_S):
        async with Client(home.mcp(), mode="legacy") as client:
            result = await client.call_tool("echo__echo", {"text": "waited"}, progress_callback=on_progress)
    assert not result.is_error
    assert approved
    assert (await calls(home))[0]["verdict"] == "approved_once"


async def test_a_client_that_leaves_mid_call_cancels_the_call(home: Home) -> None:
    was_asked = anyio.Event()
    with anyio.fail_after(WAIT_S):
        async with (
            Client(home.mcp(), mode="legacy", elicitation_callback=approve_once([], was_asked)) as client,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(client.call_tool, "echo__slow", {"seconds": 30})
            await was_asked.wait()  # approved: the call goes to the source next
            await client.call_tool("other__echo", {"text": "after the approval"})  # the slow call runs now
            tg.cancel_scope.cancel()
    rows = await calls(home)
    assert [r["outcome"] for r in rows if r["tool"] == "slow"] == ["cancelled"]


async def test_a_source_that_crashes_mid_call_is_an_error_and_the_others_keep_serving(home: Home) -> None:
    with anyio.fail_after(WAIT_S):
        async with Client(home.mcp(), mode="legacy", elicitation_callback=approve_once([])) as client:
            crashed = await client.call_tool("echo__crash", {})
            other = await client.call_tool("other__echo", {"text": "still here"})
    assert crashed.is_error
    assert (crashed.meta or {}).get("tether/error") == "source_unavailable"
    assert "'echo'" in crashed.content[0].model_dump()["text"]
    assert other.content[0].model_dump()["text"] == "still here"
