"""A local server asking the client of a call for sampling and elicitation, logging to it, and
the resources tether watches on it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import cast

import anyio
import anyio.to_thread
import pytest
from mcp import types
from mcp.client.session import ClientRequestContext

from tests.extensions.conftest import FAST_RESTARTS, WAIT_S, running, server_config
from tests.fakes import RecordingPeer
from tether.core.tools import call_peer, call_progress
from tether.errors import SourceUnavailable
from tether.extensions.runner import ConnectMode, StdioSource
from tether.types import JSONObject, SourceState
from tether.wire.peers import SourcePeers

pytestmark = pytest.mark.anyio

MODES = pytest.mark.parametrize("mode", ["auto", "legacy"])


@MODES
async def test_a_server_asks_the_client_of_the_call_it_is_running(tmp_path: Path, mode: ConnectMode) -> None:
    source = StdioSource(server_config("asker", "asking_server.py"), log_dir=tmp_path, mode=mode)
    peer = RecordingPeer()
    async with running(source):
        token = call_peer.set(peer)
        try:
            with anyio.fail_after(WAIT_S):
                result = await source.call_tool("ask", {})
        finally:
            call_peer.reset(token)
    assert result.text == "sampled: hi from the model; elicited: accept {'colour': 'teal'}"
    assert [(what, source_name) for what, source_name, _ in peer.asked] == [
        ("sampling", "asker"),
        ("elicitation", "asker"),
    ]
    assert peer.asked[1][2]["message"] == "pick a colour"
    assert peer.logged == [("asker", "info", "asker", "asking now")]


@MODES
async def test_a_call_nobody_waits_on_gets_a_clear_refusal(tmp_path: Path, mode: ConnectMode) -> None:
    source = StdioSource(server_config("asker", "asking_server.py"), log_dir=tmp_path, mode=mode)
    async with running(source):
        with anyio.fail_after(WAIT_S):
            result = await source.call_tool("ask", {})
    # 2025-11-25: the server's own answer quotes the refusal; 2026-07-28: the call fails with it.
    assert "from source 'asker': the call it is running was not made by an MCP client" in result.text


async def test_a_server_cannot_ask_outside_a_call(tmp_path: Path) -> None:
    source = StdioSource(server_config("asker", "asking_server.py"), log_dir=tmp_path, mode="legacy")
    peer = RecordingPeer()
    async with running(source):
        token = call_peer.set(peer)
        try:
            with anyio.fail_after(WAIT_S):
                await source.call_tool("sample_later", {})
        finally:
            call_peer.reset(token)
        with anyio.fail_after(WAIT_S):
            answer = await source.call_tool("outside_answer", {})
    assert answer.text.startswith("error: tether refused sampling from source 'asker'")
    assert peer.asked == []


async def _while_another_call_runs(source: StdioSource, peer: RecordingPeer) -> str:
    """Call ``ask`` for ``peer`` while a call of another client holds; return ``ask``'s text."""
    holding = anyio.Event()
    answer = ""

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        holding.set()

    async def hold() -> None:
        tokens = call_peer.set(RecordingPeer(said="the other client")), call_progress.set(on_progress)
        try:
            await source.call_tool("hold", {})
        finally:
            call_progress.reset(tokens[1])
            call_peer.reset(tokens[0])

    with anyio.fail_after(WAIT_S):
        async with anyio.create_task_group() as tg:
            tg.start_soon(hold)
            await holding.wait()
            token = call_peer.set(peer)
            try:
                answer = (await source.call_tool("ask", {})).text
            finally:
                call_peer.reset(token)
            await source.call_tool("release", {})
    return answer


async def test_a_2025_server_running_two_calls_cannot_ask_either_client(tmp_path: Path) -> None:
    source = StdioSource(server_config("asker", "asking_server.py"), log_dir=tmp_path, mode="legacy")
    peer = RecordingPeer()
    async with running(source):
        text = await _while_another_call_runs(source, peer)
    assert "running several calls at once and tether cannot tell which call" in text
    assert peer.asked == []


async def test_a_2026_server_asks_exactly_the_client_of_its_call(tmp_path: Path) -> None:
    source = StdioSource(server_config("asker", "asking_server.py"), log_dir=tmp_path, mode="auto")
    peer = RecordingPeer()
    async with running(source):
        text = await _while_another_call_runs(source, peer)
    assert text == "sampled: hi from the model; elicited: accept {'colour': 'teal'}"
    assert [what for what, _, _ in peer.asked] == ["sampling", "elicitation"]


async def test_time_spent_waiting_on_the_client_does_not_count_toward_the_call_timeout() -> None:
    waited: list[float] = []
    stopped: list[bool] = []

    class SlowPeer(RecordingPeer):
        async def elicit(self, source: str, params: JSONObject) -> JSONObject:
            started = anyio.current_time()
            stopped.append(timeout.deadline == math.inf)  # the call's clock stands still meanwhile
            with anyio.fail_after(WAIT_S):
                await anyio.to_thread.run_sync(lambda: None)  # a real round trip, however short
            waited.append(anyio.current_time() - started)
            return await super().elicit(source, params)

    peers = SourcePeers("asker")
    token = call_peer.set(SlowPeer())
    try:
        call = peers.begin()
    finally:
        call_peer.reset(token)
    assert call is not None
    params = types.ElicitRequestFormParams(
        message="pick", requested_schema={"type": "object", "properties": {}}
    )
    timeout = anyio.CancelScope(deadline=anyio.current_time() + WAIT_S)
    call.timeout = timeout
    deadline = timeout.deadline
    answer: object = None
    with timeout:
        answer = await peers.elicitation(cast(ClientRequestContext, None), params)
    peers.end(call)
    assert isinstance(answer, types.ElicitResult)
    assert stopped == [True]
    assert timeout.deadline - deadline >= waited[0] > 0


@MODES
async def test_a_watched_resource_is_watched_again_after_a_restart(tmp_path: Path, mode: ConnectMode) -> None:
    config = server_config("asker", "asking_server.py")
    source = StdioSource(config, log_dir=tmp_path, mode=mode, **FAST_RESTARTS)
    updated: list[str] = []
    arrived = anyio.Event()

    async def on_updated(uri: str) -> None:
        updated.append(uri)
        arrived.set()

    async with running(source):
        with anyio.fail_after(WAIT_S):
            await source.subscribe_resource("note://watched", on_updated)
            with pytest.raises(SourceUnavailable):
                await source.call_tool("crash", {})
            await source.wait_state(SourceState.RUNNING)
            await source.call_tool("touch", {})
            await arrived.wait()
            await source.unsubscribe_resource("note://watched", on_updated)
    assert updated == ["note://watched"]
