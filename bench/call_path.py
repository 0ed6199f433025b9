"""Issue 3's benchmark: a tool call straight to a stdio server vs through ``Host.call_tool``.

Both paths talk to the same echo server in one run; tether's path has policy ``allow`` and
records every call in the activity log (real SQLite in a temporary data dir).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from bench.measure import Case, Row, compare, report, run_case
from tether.app import open_app
from tether.config import load_settings
from tether.types import Actor, Effect, SourceConfig

ECHO = [sys.executable, str(Path(__file__).with_name("echo_server.py"))]
ME = Actor("bench")


async def measure_calls(*, calls: int, repeats: int) -> list[Row]:
    rows: list[Row] = []
    for in_flight in (1, 8):
        async with Client(StdioServerParameters(command=ECHO[0], args=ECHO[1:])) as direct_client:

            async def direct_call(client: Client = direct_client) -> object:
                return await client.call_tool("echo", {"text": "hello"})

            direct = await run_case(
                Case("direct mcp client", in_flight), direct_call, calls=calls, repeats=repeats
            )

        with tempfile.TemporaryDirectory() as home:
            os.environ["TETHER_HOME"] = home
            async with open_app(load_settings()) as tether:
                await tether.add_source(ME, SourceConfig(name="echo", command=ECHO[0], args=tuple(ECHO[1:])))
                await tether.start_sources()
                await tether.host.set_policy(ME, await tether.host.resolve("echo__echo"), Effect.ALLOW)

                async def tether_call() -> object:
                    return await tether.host.call_tool(ME, "echo__echo", {"text": "hello"})

                through = await run_case(
                    Case("Host.call_tool (allow, activity)", in_flight),
                    tether_call,
                    calls=calls,
                    repeats=repeats,
                )
        rows += compare("call path", direct, [through])
    return rows


def time_tools_command(sources: int) -> tuple[float, float]:
    """Seconds from starting `tether tools` to its output with ``sources`` stdio servers, and
    the same servers started and listed directly (concurrently) for comparison."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TETHER_HOME": home, "TETHER_SECRETS_BACKEND": "file"}
        tether = [sys.executable, "-m", "tether"]
        for n in range(sources):
            subprocess.run(
                [*tether, "source", "add", f"echo{n}", "--disabled", "--", *ECHO],
                env=env,
                check=True,
                capture_output=True,
            )
            subprocess.run(
                [*tether, "source", "enable", f"echo{n}"], env=env, check=True, capture_output=True
            )
        started = time.perf_counter()
        subprocess.run([*tether, "tools", "--json"], env=env, check=True, capture_output=True)
        through = time.perf_counter() - started

    async def direct() -> None:
        async def one() -> None:
            async with Client(StdioServerParameters(command=ECHO[0], args=ECHO[1:])) as client:
                await client.list_tools()

        async with anyio.create_task_group() as tg:
            for _ in range(sources):
                tg.start_soon(one)

    started = time.perf_counter()
    anyio.run(direct)
    return through, time.perf_counter() - started


def main(*, quick: bool) -> None:
    calls, repeats = (300, 3) if quick else (2000, 5)
    rows = anyio.run(lambda: measure_calls(calls=calls, repeats=repeats))
    through, direct = time_tools_command(10)
    report(
        "call path: direct stdio vs Host.call_tool",
        rows,
        {
            "tether tools with 10 sources (s)": round(through, 3),
            "10 servers started and listed directly in one process (s)": round(direct, 3),
        },
    )
