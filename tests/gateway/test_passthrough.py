"""A source asking the gateway's client mid-call: sampling, elicitation and log messages pass
through to the client that made the call, labelled with the source; a client that cannot
answer gets the source a clear error. A real stdio source and a real HTTP connector."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, MCPError, types
from mcp.client.context import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client

from tests.connectors.conftest import connector, remote, vault_for
from tests.connectors.servers import asking_over_http
from tests.fakes import MemoryStore
from tests.gateway.conftest import ASKING, asking_source, gateway_over, next_record
from tests.gateway.processes import ME, WAIT_S, make_home, serving
from tether.gateway.server import Gateway
from tether.gateway.tokens import issue_token


class TheClient:
    """A gateway client's callbacks: answers sampling and elicitation, keeps what it saw."""

    def __init__(self, *, action: str = "accept") -> None:
        self.action = action
        self.asked: list[str] = []
        self.logs: list[tuple[str, str | None, Any]] = []

    async def sampling(
        self, context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        self.asked.append("sampling")
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text="hello from the client"), model="m"
        )

    async def elicitation(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        self.asked.append(params.message)
        if params.message.startswith("tether: allow"):  # tether's own approval form
            return types.ElicitResult(action="accept", content={"decision": "once"})
        if self.action != "accept":
            return types.ElicitResult(action=self.action)  # type: ignore[arg-type]
        return types.ElicitResult(action="accept", content={"colour": "ochre"})

    async def logging(self, params: types.LoggingMessageNotificationParams) -> None:
        self.logs.append((params.level, params.logger, params.data))

    def client(self, server: Any, *, mode: str = "legacy", can_answer: bool = True) -> Client:
        return Client(
            server,
            mode=mode,  # type: ignore[arg-type]
            sampling_callback=self.sampling if can_answer else None,
            elicitation_callback=self.elicitation if can_answer else None,
            logging_callback=self.logging,
            log_level="info",
        )


def text_of(result: types.CallToolResult) -> str:
    return str(result.content[0].model_dump()["text"])


def call_outcomes(gateway: Gateway) -> list[object]:
    store = gateway.host.store
    assert isinstance(store, MemoryStore)
    return [r.data["outcome"] for r in store.activity if r.kind == "tool.called"]


def asked_rows(gateway: Gateway) -> list[tuple[str, str | None, str | None, object, object]]:
    """The ``source.asked`` activity rows: actor, source, tool, request, outcome."""
    store = gateway.host.store
    assert isinstance(store, MemoryStore)
    return [
        (r.actor, r.source, r.tool, r.data["request"], r.data["outcome"])
        for r in store.activity
        if r.kind == "source.asked"
    ]


@pytest.mark.parametrize("source_mode", ["auto", "legacy"])
async def test_a_local_source_asks_the_client_that_made_the_call(tmp_path: Path, source_mode: str) -> None:
    seen = TheClient()
    async with (
        gateway_over(asking_source(tmp_path, source_mode)) as gateway,
        seen.client(gateway.server) as client,
    ):
        with anyio.fail_after(WAIT_S):
            result = await client.call_tool("asker__ask", {})
        rows = asked_rows(gateway)
    assert text_of(result) == "sampled: hello from the client; elicited: accept {'colour': 'ochre'}"
    assert seen.asked == ["sampling", "asker asks: pick a colour"]  # labelled with the source
    assert seen.logs == [("info", "asker/asker", "asking now")]
    assert sorted(rows) == [
        ("gateway:stdio", "asker", "ask", "elicitation", "accept"),
        ("gateway:stdio", "asker", "ask", "sampling", "answered"),
    ]


async def test_a_client_without_sampling_gets_the_source_a_clear_error(tmp_path: Path) -> None:
    seen = TheClient()
    async with (
        gateway_over(asking_source(tmp_path, "legacy")) as gateway,
        seen.client(gateway.server, can_answer=False) as client,
    ):
        with anyio.fail_after(WAIT_S):
            result = await client.call_tool("asker__ask", {})
        rows = asked_rows(gateway)
    assert text_of(result) == (
        "sampled: error: the client connected to tether does not support sampling; "
        "elicited: error: the client connected to tether does not support elicitation"
    )
    assert seen.asked == []
    assert [(request, outcome) for *_, request, outcome in rows] == [
        ("sampling", "refused"),
        ("elicitation", "refused"),
    ]


@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_a_client_that_declines_the_elicitation_is_answered_as_declined(
    tmp_path: Path, action: str
) -> None:
    seen = TheClient(action=action)
    async with (
        gateway_over(asking_source(tmp_path, "legacy")) as gateway,
        seen.client(gateway.server) as client,
    ):
        with anyio.fail_after(WAIT_S):
            result = await client.call_tool("asker__ask", {})
    assert text_of(result) == f"sampled: hello from the client; elicited: {action} {{}}"


@pytest.mark.parametrize("source_mode", ["auto", "legacy"])
async def test_a_2026_client_is_asked_with_input_required_rounds(tmp_path: Path, source_mode: str) -> None:
    seen = TheClient()
    async with (
        gateway_over(asking_source(tmp_path, source_mode)) as gateway,
        seen.client(gateway.server, mode="auto") as client,
    ):
        with anyio.fail_after(WAIT_S):
            result = await client.call_tool("asker__ask", {})
        rows = asked_rows(gateway)
        calls = call_outcomes(gateway)
    assert text_of(result) == "sampled: hello from the client; elicited: accept {'colour': 'ochre'}"
    assert sorted(seen.asked) == ["asker asks: pick a colour", "sampling"]
    assert seen.logs == [("info", "asker/asker", "asking now")]
    assert sorted((request, outcome) for *_, request, outcome in rows) == [
        ("elicitation", "accept"),
        ("sampling", "answered"),
    ]
    assert calls == ["ok"]  # one call, however many rounds


async def test_a_2026_client_approves_then_answers_the_source_in_later_rounds(tmp_path: Path) -> None:
    seen = TheClient()
    async with (
        gateway_over(asking_source(tmp_path), ask=["ask"]) as gateway,
        seen.client(gateway.server, mode="auto") as client,
    ):
        with anyio.fail_after(WAIT_S):
            result = await client.call_tool("asker__ask", {})
        calls = call_outcomes(gateway)
    assert text_of(result) == "sampled: hello from the client; elicited: accept {'colour': 'ochre'}"
    assert seen.asked[0].startswith("tether: allow asker__ask")
    assert sorted(seen.asked[1:]) == ["asker asks: pick a colour", "sampling"]
    assert calls == ["ok"]


async def test_a_2026_client_that_leaves_mid_call_cancels_the_call(tmp_path: Path) -> None:
    seen = TheClient()
    holding = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        holding.set()

    async with (
        gateway_over(asking_source(tmp_path)) as gateway,
        seen.client(gateway.server, mode="auto") as client,
    ):
        with gateway.host.events.subscribe() as events:
            async with anyio.create_task_group() as tg:
                tg.start_soon(partial(client.call_tool, "asker__hold", {}, progress_callback=on_progress))
                with anyio.fail_after(WAIT_S):
                    await holding.wait()  # the call runs in the gateway's background now
                tg.cancel_scope.cancel()
            record = await next_record(events, "tool.called")
    assert record.data["outcome"] == "cancelled"


async def test_a_2026_client_without_the_capabilities_gets_the_source_a_clear_error(tmp_path: Path) -> None:
    seen = TheClient()
    async with (
        gateway_over(asking_source(tmp_path, "legacy")) as gateway,
        seen.client(gateway.server, mode="auto", can_answer=False) as client,
    ):
        with anyio.fail_after(WAIT_S):
            result = await client.call_tool("asker__ask", {})
    assert "the client connected to tether does not support sampling" in text_of(result)
    assert seen.asked == []


@pytest.mark.parametrize("source_mode", ["auto", "legacy"])
async def test_a_connector_asks_the_client_that_made_the_call(tmp_path: Path, source_mode: str) -> None:
    seen = TheClient()
    async with asking_over_http() as (url, _):
        vault = vault_for(tmp_path / "home", "asker", url)
        source = remote(vault, config=connector("asker", url), mode=source_mode)  # type: ignore[arg-type]
        async with (
            gateway_over(source) as gateway,
            seen.client(gateway.server) as client,
        ):
            with anyio.fail_after(WAIT_S):
                result = await client.call_tool("asker__ask", {})
    assert text_of(result) == "sampled: hello from the client; elicited: accept {'colour': 'ochre'}"
    assert seen.asked == ["sampling", "asker asks: pick a colour"]
    assert seen.logs == [("info", "asker/asker", "asking now")]


async def test_over_tether_mcp_a_client_answers_a_local_source(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    await home.configure({"asker": ASKING}, allow=["asker__ask"])
    seen = TheClient()
    with anyio.fail_after(WAIT_S):
        async with seen.client(home.mcp()) as client:
            result = await client.call_tool("asker__ask", {})
    assert text_of(result) == "sampled: hello from the client; elicited: accept {'colour': 'ochre'}"
    assert seen.asked == ["sampling", "asker asks: pick a colour"]


async def test_over_the_http_gateway_a_client_answers_a_local_source(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    await home.configure({"asker": ASKING}, allow=["asker__ask"])
    seen = TheClient()
    async with serving(home) as served:
        secret = (await issue_token(served.app.store, served.app.host, ME, "asking")).secret
        headers = {"Authorization": f"Bearer {secret}"}
        with anyio.fail_after(WAIT_S):
            async with (
                httpx2.AsyncClient(headers=headers, timeout=WAIT_S) as http,
                seen.client(streamable_http_client(served.url, http_client=http)) as client,
            ):
                result = await client.call_tool("asker__ask", {})
    assert text_of(result) == "sampled: hello from the client; elicited: accept {'colour': 'ochre'}"
    assert seen.asked == ["sampling", "asker asks: pick a colour"]
    assert seen.logs == [("info", "asker/asker", "asking now")]


async def test_a_client_hears_only_the_log_levels_it_set(tmp_path: Path) -> None:
    seen = TheClient()
    async with (
        gateway_over(asking_source(tmp_path, "legacy")) as gateway,
        seen.client(gateway.server) as client,
    ):
        with anyio.fail_after(WAIT_S):
            set_level = types.SetLevelRequest(params=types.SetLevelRequestParams(level="warning"))
            await client.session.send_request(set_level, types.EmptyResult)  # deprecated, still served
            result = await client.call_tool("asker__ask", {})
    assert not result.is_error
    assert seen.logs == []  # the source logged at info


async def test_a_source_cannot_have_the_clients_context_put_into_its_sampling(tmp_path: Path) -> None:
    contexts: list[str | None] = []

    async def sampling(
        context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        contexts.append(params.include_context)
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text="no context"), model="m"
        )

    async with (
        gateway_over(asking_source(tmp_path, "legacy")) as gateway,
        Client(gateway.server, mode="legacy", sampling_callback=sampling) as client,
    ):
        with anyio.fail_after(WAIT_S):
            result = await client.call_tool("asker__ask", {"include_context": "allServers"})
    assert text_of(result).startswith("sampled: no context;")
    assert contexts == ["none"]


async def test_a_2026_client_that_only_samples_is_asked_only_for_sampling(tmp_path: Path) -> None:
    seen = TheClient()
    async with (
        gateway_over(asking_source(tmp_path, "legacy")) as gateway,
        Client(gateway.server, mode="auto", sampling_callback=seen.sampling) as client,
    ):
        with anyio.fail_after(WAIT_S):
            result = await client.call_tool("asker__ask", {})
    assert text_of(result) == (
        "sampled: hello from the client; "
        "elicited: error: the client connected to tether does not support elicitation"
    )
    assert seen.asked == ["sampling"]


async def test_a_client_that_never_answers_gets_the_source_an_error_once_an_approval_would_expire(
    tmp_path: Path,
) -> None:
    async def sampling(
        context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        await anyio.Event().wait()  # a client whose user never answers
        raise AssertionError("unreachable")

    async with (
        gateway_over(asking_source(tmp_path, "legacy"), approval_timeout_s=0.5) as gateway,
        Client(gateway.server, mode="legacy", sampling_callback=sampling) as client,
    ):
        with anyio.fail_after(WAIT_S):
            result = await client.call_tool("asker__ask", {})
        rows = asked_rows(gateway)
    assert text_of(result).startswith("sampled: error: ")
    assert ("gateway:stdio", "asker", "ask", "sampling", "failed") in rows


async def test_only_the_caller_of_a_call_can_answer_its_sources_question(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    await home.configure({"asker": ASKING}, allow=["asker__ask"])
    seen = TheClient()
    async with serving(home) as served:
        tokens = [(await issue_token(served.app.store, served.app.host, ME, n)).secret for n in ("a", "b")]
        with anyio.fail_after(WAIT_S):
            async with (
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=WAIT_S) as a,
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {tokens[1]}"}, timeout=WAIT_S) as b,
                seen.client(streamable_http_client(served.url, http_client=a), mode="auto") as caller,
                seen.client(streamable_http_client(served.url, http_client=b), mode="auto") as other,
            ):
                asked = await caller.session.call_tool("asker__ask", {}, allow_input_required=True)
                assert isinstance(asked, types.InputRequiredResult)
                assert asked.request_state is not None
                assert asked.input_requests
                answer = types.CreateMessageResult(
                    role="assistant", content=types.TextContent(type="text", text="not yours"), model="m"
                )
                with pytest.raises(MCPError, match="requestState"):  # bound to the token that got it
                    await other.session.call_tool(
                        "asker__ask",
                        {},
                        request_state=asked.request_state,
                        input_responses=dict.fromkeys(asked.input_requests, answer),
                        allow_input_required=True,
                    )
                answered = await caller.session.call_tool(
                    "asker__ask",
                    {},
                    request_state=asked.request_state,
                    input_responses=dict.fromkeys(asked.input_requests, answer),
                    allow_input_required=True,
                )
    assert isinstance(answered, types.InputRequiredResult)  # the caller's answer went on: the next question
