"""StdioSource against real child processes: the test servers in tests/servers."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest

from tests.extensions.conftest import FAST_RESTARTS, WAIT_S, inline_config, running, server_config
from tether.errors import SourceTimeout, SourceUnavailable
from tether.extensions.runner import ConnectMode, StdioSource
from tether.types import SourceConfig, SourceState

pytestmark = pytest.mark.anyio  # explicit: the root conftest marks too late for parametrized tests

BOTH_MODES = pytest.mark.parametrize(("mode", "version"), [("auto", "2026-07-28"), ("legacy", "2025-11-25")])


@BOTH_MODES
async def test_lists_and_calls_the_echo_server(tmp_path: Path, mode: ConnectMode, version: str) -> None:
    source = StdioSource(server_config("echo", "echo_server.py"), log_dir=tmp_path, mode=mode)
    async with running(source):
        assert source.status.state is SourceState.RUNNING
        assert source.protocol_version == version
        tools = {tool.name: tool for tool in await source.list_tools()}
        assert {"echo", "add", "slow", "crash", "shout", "grow"} <= tools.keys()
        assert tools["echo"].annotations.read_only is True
        assert tools["echo"].annotations.open_world is False
        assert tools["crash"].annotations.destructive is True
        assert tools["echo"].input_schema["properties"]["text"]["type"] == "string"
        assert [p.name for p in await source.list_prompts()] == ["greet"]
        assert [(r.uri, r.mime_type) for r in await source.list_resources()] == [
            ("memo://note", "text/plain")
        ]

        with anyio.fail_after(WAIT_S):
            echoed = await source.call_tool("echo", {"text": "hello"})
            added = await source.call_tool("add", {"a": 2, "b": 3})
        assert echoed.text == "hello"
        assert echoed.content == ({"type": "text", "text": "hello"},)
        assert added.structured == {"result": 5}
        assert not added.is_error


async def test_concurrent_calls_share_one_session(tmp_path: Path) -> None:
    source = StdioSource(server_config("echo", "echo_server.py"), log_dir=tmp_path)
    results: dict[int, str] = {}

    async def call(n: int) -> None:
        tool, arguments = ("slow", {"seconds": 0.2}) if n % 3 == 0 else ("echo", {"text": str(n)})
        results[n] = (await source.call_tool(tool, arguments)).text

    async with running(source):
        with anyio.fail_after(WAIT_S):
            async with anyio.create_task_group() as tg:
                for n in range(12):
                    tg.start_soon(call, n)
    assert results == {n: "slept 0.2 s" if n % 3 == 0 else str(n) for n in range(12)}


async def test_a_tool_error_from_the_server_is_a_result(tmp_path: Path) -> None:
    source = StdioSource(server_config("echo", "echo_server.py"), log_dir=tmp_path)
    async with running(source):
        with anyio.fail_after(WAIT_S):
            result = await source.call_tool("add", {"a": "not a number", "b": 1})
    assert result.is_error


async def test_a_command_that_does_not_exist_fails_without_retrying(tmp_path: Path) -> None:
    config = SourceConfig(name="ghost", command=str(tmp_path / "no-such-server"))
    source = StdioSource(config, log_dir=tmp_path, **FAST_RESTARTS)
    async with running(source):
        status = source.status
        assert status.state is SourceState.FAILED
        assert "not found" in status.detail
        assert status.restarts == 0
        with pytest.raises(SourceUnavailable) as raised:
            await source.call_tool("anything", {})
        assert raised.value.code == "source_unavailable"
        assert await source.list_tools() == ()


async def test_a_command_that_exits_at_once_fails_after_retries_with_its_stderr(tmp_path: Path) -> None:
    config = inline_config(
        "quitter", "import sys; print('fatal: no API token', file=sys.stderr); sys.exit(3)"
    )
    source = StdioSource(config, log_dir=tmp_path, max_start_failures=3, **FAST_RESTARTS)
    async with running(source):
        with anyio.fail_after(WAIT_S):
            status = await source.wait_state(SourceState.FAILED)
    assert "exited during start" in status.detail
    assert "3 times in a row" in status.detail
    assert "tether source logs quitter" in status.detail
    assert status.restarts == 2
    assert status.stderr_tail == ("fatal: no API token",) * 3


async def test_junk_on_stdout_is_logged_and_ignored(tmp_path: Path) -> None:
    source = StdioSource(server_config("junk", "garbage_server.py", "then-serve"), log_dir=tmp_path)
    async with running(source):
        assert source.status.state is SourceState.RUNNING
        with anyio.fail_after(WAIT_S):
            assert (await source.call_tool("ping", {})).text == "pong"
    assert "Loading configuration..." in source.log_path.read_text()


async def test_junk_on_stdout_then_silence_fails_the_start_and_says_why(tmp_path: Path) -> None:
    source = StdioSource(
        server_config("junk", "garbage_server.py", "forever"),
        log_dir=tmp_path,
        start_timeout_s=1.0,
        max_start_failures=1,
    )
    async with running(source):
        status = source.status
    assert status.state is SourceState.FAILED
    assert "did not answer the MCP handshake within 1 s" in status.detail
    assert "not JSON-RPC" in status.detail
    assert "Loading configuration..." in status.detail


async def test_a_server_that_never_answers_fails_after_the_start_timeout(tmp_path: Path) -> None:
    source = StdioSource(
        server_config("mute", "silent_server.py"),
        log_dir=tmp_path,
        start_timeout_s=0.5,
        max_start_failures=2,
        **FAST_RESTARTS,
    )
    async with running(source):
        assert source.status.state in (SourceState.RESTARTING, SourceState.STARTING)
        with anyio.fail_after(WAIT_S):
            status = await source.wait_state(SourceState.FAILED)
    assert "did not answer the MCP handshake within 0.5 s" in status.detail
    assert status.restarts == 1


async def test_a_crash_mid_call_is_unavailable_then_the_server_is_restarted(tmp_path: Path) -> None:
    source = StdioSource(server_config("echo", "echo_server.py"), log_dir=tmp_path, **FAST_RESTARTS)
    async with running(source):
        with anyio.fail_after(WAIT_S):
            with pytest.raises(SourceUnavailable) as raised:
                await source.call_tool("crash", {})
            assert "'echo'" in str(raised.value)
            await source.wait_state(SourceState.RUNNING)
            assert (await source.call_tool("echo", {"text": "back"})).text == "back"
        assert source.status.restarts == 1


async def test_a_hung_call_times_out_and_the_server_is_restarted(tmp_path: Path) -> None:
    config = server_config("echo", "echo_server.py", call_timeout_s=0.5)
    source = StdioSource(config, log_dir=tmp_path, **FAST_RESTARTS)
    async with running(source):
        with anyio.fail_after(WAIT_S):
            with pytest.raises(SourceTimeout) as raised:
                await source.call_tool("slow", {"seconds": 60})
            assert raised.value.code == "source_timeout"
            await source.wait_state(SourceState.RUNNING)
            assert (await source.call_tool("echo", {"text": "alive"})).text == "alive"
        assert source.status.restarts == 1
    assert "took longer than 0.5 s" in source.log_path.read_text()


async def test_a_call_while_the_server_is_down_says_its_state(tmp_path: Path) -> None:
    source = StdioSource(
        inline_config("quitter", "raise SystemExit(1)"), log_dir=tmp_path, max_start_failures=1
    )
    async with running(source):
        with pytest.raises(SourceUnavailable) as raised:
            await source.call_tool("echo", {"text": "x"})
    assert "failed" in str(raised.value)


@BOTH_MODES
async def test_list_changed_is_followed_and_reported(tmp_path: Path, mode: ConnectMode, version: str) -> None:
    changed = anyio.Event()
    seen: list[str] = []

    async def on_change(name: str) -> None:
        seen.append(name)
        changed.set()

    source = StdioSource(
        server_config("echo", "echo_server.py"), log_dir=tmp_path, mode=mode, on_change=on_change
    )
    async with running(source):
        assert source.protocol_version == version
        assert "extra" not in {tool.name for tool in await source.list_tools()}
        with anyio.fail_after(WAIT_S):
            await source.call_tool("grow", {})
            await changed.wait()
        assert "extra" in {tool.name for tool in await source.list_tools()}
        assert seen == ["echo"]


async def test_stderr_lands_in_the_log_file_and_the_status_tail(tmp_path: Path) -> None:
    source = StdioSource(server_config("echo", "echo_server.py"), log_dir=tmp_path)
    async with running(source):
        with anyio.fail_after(WAIT_S):
            await source.call_tool("shout", {"text": "hello from stderr"})
    # close() waited for the server's stderr to end, so every line is in by now
    assert source.status.state is SourceState.STOPPED
    assert source.status.stderr_tail[-2:] == ("echo server starting", "hello from stderr")
    log = (tmp_path / "echo.log").read_text()
    assert "echo server starting" in log
    assert "hello from stderr" in log


async def test_the_environment_reaches_the_server_but_not_the_log(tmp_path: Path) -> None:
    code = "import os, sys; print('token length', len(os.environ['API_TOKEN']), file=sys.stderr)"
    config = SourceConfig(name="envy", command=sys.executable, args=("-c", code), env={"API_TOKEN": "s3cret"})
    source = StdioSource(config, log_dir=tmp_path, max_start_failures=1)
    async with running(source):
        pass
    assert source.status.stderr_tail == ("token length 6",)
    assert "s3cret" not in (tmp_path / "envy.log").read_text()


async def test_ten_sources_start_concurrently(tmp_path: Path) -> None:
    sources = [StdioSource(server_config(f"echo-{n}", "echo_server.py"), log_dir=tmp_path) for n in range(10)]
    async with running(*sources):
        assert [s.status.state for s in sources] == [SourceState.RUNNING] * 10
        with anyio.fail_after(WAIT_S):
            for n, source in enumerate(sources):
                assert (await source.call_tool("echo", {"text": str(n)})).text == str(n)
    assert {s.status.state for s in sources} == {SourceState.STOPPED}


async def test_close_before_run_means_run_returns_at_once(tmp_path: Path) -> None:
    source = StdioSource(server_config("echo", "echo_server.py"), log_dir=tmp_path)
    await source.close()
    with anyio.fail_after(WAIT_S):
        async with anyio.create_task_group() as tg:
            await tg.start(source.run)
    assert source.status.state is SourceState.STOPPED


async def test_a_source_that_gave_up_can_be_run_again(tmp_path: Path) -> None:
    config = inline_config("quitter", "raise SystemExit(1)")
    source = StdioSource(config, log_dir=tmp_path, max_start_failures=1)
    async with running(source):
        assert source.status.state is SourceState.FAILED
        with anyio.fail_after(WAIT_S):
            async with anyio.create_task_group() as tg:
                await tg.start(source.run)
        assert source.status.state is SourceState.FAILED
        assert source.status.restarts == 1


async def test_closing_during_a_call_ends_the_call_without_a_restart(tmp_path: Path) -> None:
    source = StdioSource(server_config("echo", "echo_server.py"), log_dir=tmp_path)
    failures: list[SourceUnavailable] = []

    async def call_slowly() -> None:
        try:
            await source.call_tool("slow", {"seconds": 60})
        except SourceUnavailable as error:
            failures.append(error)

    async with running(source), anyio.create_task_group() as tg:
        tg.start_soon(call_slowly)
        await anyio.wait_all_tasks_blocked()
        with anyio.fail_after(WAIT_S):
            await source.close()
    assert len(failures) == 1
    assert "closed during the call" in str(failures[0])
    assert source.status.state is SourceState.STOPPED
    assert source.status.restarts == 0
