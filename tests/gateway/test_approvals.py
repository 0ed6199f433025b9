"""Approvals through the gateway's client: elicitation (2025-11-25), input-required (2026-07-28),
else a wait for the web UI or CLI with progress notifications, and a clear error on timeout."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp import Client, types
from mcp.client.context import ClientRequestContext

from tests.gateway.conftest import WAIT_S, in_process
from tether.types import Effect, Verdict


def answering(choice: str | None, asked: list[str]) -> Any:
    async def elicit(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        asked.append(params.message)
        if choice is None:
            return types.ElicitResult(action="decline")
        return types.ElicitResult(action="accept", content={"decision": choice})

    return elicit


@pytest.mark.parametrize(("mode", "decided_by"), [("legacy", "elicitation"), ("auto", "input-required")])
async def test_the_clients_user_approves_once_and_the_call_runs(mode: str, decided_by: str) -> None:
    asked: list[str] = []
    async with in_process() as gw:
        async with Client(
            gw.gateway.server, mode=mode, elicitation_callback=answering("once", asked)
        ) as client:
            result = await client.call_tool("echo__echo", {"text": "approved"})
        resolved = await gw.activity("approval.resolved")
        called = await gw.activity()
        assert (await gw.host.decide(await gw.host.resolve("echo__echo"))).effect is Effect.ASK
    assert not result.is_error
    assert len(asked) == 1
    assert "echo__echo" in asked[0]
    assert resolved[0].data["decided_by"] == f"gateway:stdio/{decided_by}"
    assert called[0].data["verdict"] == "approved_once"


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_always_allow_in_the_client_stops_asking(mode: str) -> None:
    asked: list[str] = []
    async with in_process() as gw:
        async with Client(
            gw.gateway.server, mode=mode, elicitation_callback=answering("always", asked)
        ) as client:
            await client.call_tool("echo__echo", {"text": "one"})
            second = await client.call_tool("echo__echo", {"text": "two"})
        assert (await gw.host.decide(await gw.host.resolve("echo__echo"))).effect is Effect.ALLOW
    assert not second.is_error
    assert len(asked) == 1


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_declining_in_the_client_denies_the_call(mode: str) -> None:
    async with in_process() as gw:
        async with Client(gw.gateway.server, mode=mode, elicitation_callback=answering(None, [])) as client:
            result = await client.call_tool("echo__echo", {"text": "no"})
        called = await gw.activity()
    assert result.is_error
    assert (result.meta or {}).get("tether/error") == "approval_denied"
    assert called[0].data["outcome"] == "refused"


async def test_an_answer_to_an_input_request_cannot_be_replayed() -> None:
    never: list[str] = []
    async with (
        in_process() as gw,
        Client(gw.gateway.server, mode="auto", elicitation_callback=answering("once", never)) as client,
    ):
        first = await client.session.call_tool("echo__echo", {"text": "x"}, allow_input_required=True)
        assert isinstance(first, types.InputRequiredResult)
        answer: types.InputResponses = {
            "approval": types.ElicitResult(action="accept", content={"decision": "once"})
        }
        used = await client.session.call_tool(
            "echo__echo", {"text": "x"}, input_responses=answer, request_state=first.request_state
        )
        replayed = await client.session.call_tool(
            "echo__echo",
            {"text": "x"},
            input_responses=answer,
            request_state=first.request_state,
            allow_input_required=True,
        )
    assert isinstance(used, types.CallToolResult)
    assert not used.is_error
    assert isinstance(replayed, types.InputRequiredResult)  # asked again, not run


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_without_elicitation_the_call_waits_for_the_cli_with_progress(mode: str) -> None:
    notes: list[str] = []
    async with in_process() as gw, Client(gw.gateway.server, mode=mode) as client:
        store = gw.store

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            notes.append(message or "")
            for pending in await store.pending_approvals():
                # What `tether approvals approve ID` does from another process.
                await store.resolve_approval(pending.request.id, Verdict.APPROVED_ONCE, "cli:someone")

        with anyio.fail_after(WAIT_S):
            result = await client.call_tool("echo__echo", {"text": "waited"}, progress_callback=on_progress)
        resolved = await gw.activity("approval.resolved")
    assert not result.is_error
    assert "tether approvals approve" in notes[0]
    assert resolved[0].data["decided_by"] == "cli:someone"


async def test_an_approval_nobody_gives_expires_as_a_clear_tool_error() -> None:
    async with in_process(approval_timeout_s=0.2) as gw, Client(gw.gateway.server, mode="legacy") as client:
        result = await client.call_tool("echo__echo", {"text": "late"})
    assert result.is_error
    assert (result.meta or {}).get("tether/error") == "approval_expired"
    assert "tether approvals" in result.content[0].model_dump()["text"]
