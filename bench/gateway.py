"""Issue 7's benchmark: one echo tool called directly, through ``tether mcp``, through tether's
HTTP gateway and through a fastmcp proxy, in one run, against the same stdio echo server.

Reports p50/p99 and calls/s at 1, 8 and 64 in flight (as ratios to direct), the CPU time per
call of the tether process, ``tools/list`` with 1,000 tools, and cold start to first list.
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import cast

import anyio
import anyio.to_thread
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from bench.measure import Case, Row, compare, report, run_case
from tether.app import open_app
from tether.config import load_settings
from tether.types import Actor, Effect, SourceConfig

HERE = Path(__file__).parent
ECHO = [sys.executable, str(HERE / "echo_server.py")]
MANY = [sys.executable, str(HERE / "many_tools_server.py")]
PROXY = [sys.executable, str(HERE / "fastmcp_proxy.py")]
ME = Actor("bench")
IN_FLIGHT = (1, 8, 64)


def tether_env(home: str) -> dict[str, str]:
    return {
        **os.environ,
        "TETHER_HOME": home,
        "TETHER_CONFIG": f"{home}/tether.toml",
        "TETHER_SECRETS_BACKEND": "file",
    }


async def prepare(home: str) -> None:
    """A data dir with the echo source (echo allowed) and the 1,000-tool source, disabled."""
    async with open_app(load_settings(tether_env(home))) as tether:
        await tether.add_source(ME, SourceConfig(name="echo", command=ECHO[0], args=tuple(ECHO[1:])))
        await tether.add_source(
            ME, SourceConfig(name="many", command=MANY[0], args=tuple(MANY[1:]), is_enabled=False)
        )
        await tether.start_sources(["echo"])
        await tether.host.set_policy(ME, await tether.host.resolve("echo__echo"), Effect.ALLOW)


def stdio(command: list[str], env: dict[str, str] | None = None) -> StdioServerParameters:
    return StdioServerParameters(command=command[0], args=command[1:], env=env)


def cpu_s(pattern: str) -> float:
    """User + system CPU seconds of the processes whose command line matches ``pattern``."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if re.search(pattern, cmdline):
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


@asynccontextmanager
async def http_server(
    command: list[str], env: dict[str, str], ready: str
) -> AsyncGenerator[subprocess.Popen[str]]:
    process = await anyio.to_thread.run_sync(start, command, env)
    try:
        assert process.stdout is not None
        with anyio.fail_after(60):
            while ready not in (line := await anyio.to_thread.run_sync(process.stdout.readline)):
                if not line:
                    raise RuntimeError(f"{command} exited")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


async def cli(env: dict[str, str], *args: str) -> str:
    """Run one ``tether`` command; its stdout."""
    done = await anyio.to_thread.run_sync(
        lambda: subprocess.run(
            [sys.executable, "-m", "tether", *args], env=env, capture_output=True, text=True, check=True
        )
    )
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CASE_LIMIT_S = 300.0
"""A case that takes longer (a proxy that stalls under load) is reported as failed, not waited on."""


async def measure(
    name: str, connect: Callable[[], Client], tool: str, *, calls: int, repeats: int, cpu_of: str | None
) -> list[Case | str]:
    """A Case per in-flight level, or why that level failed."""
    cases: list[Case | str] = []
    for in_flight in IN_FLIGHT:
        try:
            with anyio.fail_after(CASE_LIMIT_S):
                async with connect() as client:

                    async def call(client: Client = client) -> object:
                        return await client.call_tool(tool, {"text": "hello"})

                    before = cpu_s(cpu_of) if cpu_of else 0.0
                    case = await run_case(Case(name, in_flight), call, calls=calls, repeats=repeats)
                    if cpu_of:
                        case.cpu_s = (cpu_s(cpu_of) - before) / (len(case.latencies_s) + max(1, calls // 20))
                    cases.append(case)
        except Exception as error:  # a benchmark reports a failed case and goes on
            cases.append(f"failed: {_first_cause(error)}")
    return cases


def _first_cause(error: BaseException) -> str:
    while isinstance(error, BaseExceptionGroup):
        error = cast(BaseExceptionGroup[BaseException], error).exceptions[0]
    return type(error).__name__ if not str(error) else f"{type(error).__name__}: {error}"[:120]


async def measure_calls(home: str, *, calls: int, repeats: int) -> tuple[list[Row], dict[str, object]]:
    env = tether_env(home)
    token = (await cli(env, "token", "create", "--name", "bench")).strip()
    port, proxy_port = free_port(), free_port()
    serve = [sys.executable, "-m", "tether", "serve", "--port", str(port)]
    results: dict[str, list[Case | str]] = {}
    results["direct"] = await measure(
        "direct mcp client", lambda: Client(stdio(ECHO)), "echo", calls=calls, repeats=repeats, cpu_of=None
    )
    results["stdio"] = await measure(
        "tether mcp (stdio)",
        lambda: Client(stdio([sys.executable, "-m", "tether", "mcp"], env)),
        "echo__echo",
        calls=calls,
        repeats=repeats,
        cpu_of=r"-m tether mcp",
    )
    async with http_server(serve, env, "tether is running"):
        auth = {"Authorization": f"Bearer {token}"}
        results["http"] = await measure(
            "tether /mcp (HTTP)",
            lambda: Client(
                streamable_http_client(
                    f"http://127.0.0.1:{port}/mcp", http_client=httpx2.AsyncClient(headers=auth)
                )
            ),
            "echo__echo",
            calls=calls,
            repeats=repeats,
            cpu_of=r"-m tether serve",
        )
    results["fastmcp"] = await measure(
        "fastmcp proxy (stdio)",
        lambda: Client(stdio(PROXY)),
        "echo",
        calls=calls,
        repeats=repeats,
        cpu_of=r"fastmcp_proxy\.py",
    )
    async with http_server([*PROXY, "http", str(proxy_port)], dict(os.environ), "Uvicorn running"):
        results["fastmcp_http"] = await measure(
            "fastmcp proxy (HTTP)",
            lambda: Client(  # 64 calls in flight through this proxy can take longer than httpx's 5 s
                streamable_http_client(
                    f"http://127.0.0.1:{proxy_port}/mcp", http_client=httpx2.AsyncClient(timeout=120)
                )
            ),
            "echo",
            calls=max(64, calls // 4),
            repeats=repeats,
            cpu_of=r"fastmcp_proxy\.py http",
        )
    rows: list[Row] = []
    cpu: dict[str, object] = {}
    names = {"stdio": "tether mcp (stdio)", "http": "tether /mcp (HTTP)", "fastmcp": "fastmcp proxy (stdio)"}
    names["fastmcp_http"] = "fastmcp proxy (HTTP)"
    for index, in_flight in enumerate(IN_FLIGHT):
        direct = results["direct"][index]
        if isinstance(direct, str):
            cpu[f"direct mcp client, {in_flight} in flight"] = direct
            continue
        others: list[Case] = []
        for key, name in names.items():
            case = results[key][index]
            if isinstance(case, str):
                cpu[f"{name}, {in_flight} in flight"] = case
            else:
                others.append(case)
                cpu[f"CPU µs per call, {case.name}, {in_flight} in flight"] = round(case.cpu_s * 1e6, 1)
        rows += compare("gateway", direct, others)
    return rows, cpu


async def time_list(connect: Callable[[], Client], repeats: int) -> list[float]:
    async with connect() as client:
        await client.list_tools()
        times: list[float] = []
        for _ in range(repeats):
            started = time.perf_counter()
            await client.list_tools()
            times.append(time.perf_counter() - started)
    return times


async def measure_lists(home: str, repeats: int) -> dict[str, object]:
    env = tether_env(home)
    await cli(env, "source", "disable", "echo")
    await cli(env, "source", "enable", "many")
    direct = await time_list(lambda: Client(stdio(MANY)), repeats)
    through = await time_list(lambda: Client(stdio([sys.executable, "-m", "tether", "mcp"], env)), repeats)
    cold_direct: list[float] = []
    cold_through: list[float] = []
    await cli(env, "source", "disable", "many")
    await cli(env, "source", "enable", "echo")
    for _ in range(3):
        for command, env_of, into in (
            (ECHO, None, cold_direct),
            ([sys.executable, "-m", "tether", "mcp"], env, cold_through),
        ):
            started = time.perf_counter()
            async with Client(stdio(command, env_of)) as client:
                await client.list_tools()
                into.append(time.perf_counter() - started)

    def spread(values: list[float]) -> str:
        median_ms, low_ms, high_ms = (
            statistics.median(values) * 1000,
            min(values) * 1000,
            max(values) * 1000,
        )
        return f"median {median_ms:.1f} ms (min {low_ms:.1f}, max {high_ms:.1f})"

    return {
        "tools/list, 1,000 tools, direct": spread(direct),
        "tools/list, 1,000 tools, through tether mcp": spread(through),
        "tools/list ratio through/direct": round(statistics.median(through) / statistics.median(direct), 2),
        "cold start to first tools/list, direct": spread(cold_direct),
        "cold start to first tools/list, tether mcp": spread(cold_through),
    }


def main(*, quick: bool) -> None:
    calls, repeats = (256, 2) if quick else (1024, 3)
    with tempfile.TemporaryDirectory() as home:
        anyio.run(prepare, home)
        rows, cpu = anyio.run(lambda: measure_calls(home, calls=calls, repeats=repeats))
        lists = anyio.run(lambda: measure_lists(home, 5 if quick else 20))
    report("gateway: direct vs tether mcp vs /mcp vs fastmcp proxy", rows, {**cpu, **lists})
