"""Issue 5's benchmark: tools/call through a connector vs a direct ``mcp`` client, in one run,
against the same Streamable HTTP echo server (a separate process on 127.0.0.1).

tether's path is the real one: ``Host.call_tool`` (policy ``allow``, activity recorded in
SQLite) -> ``RemoteSource`` -> the server; ``RemoteSource.call_tool`` alone is measured too, to
tell the connector's share from the call path's. Without auth and with a static bearer header,
at 1, 8 and 64 in flight; p50/p99 and calls/s as ratios to direct, and this process's CPU per call.
Target: at most +10% p50 and at least 90% of direct calls/s.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench.measure import Case, Row, compare, report, run_case
from tether.app import open_app
from tether.config import load_settings
from tether.types import Actor, Effect, SourceConfig, SourceKind

SERVER = [sys.executable, str(Path(__file__).with_name("http_echo_server.py"))]
ME = Actor("bench")
IN_FLIGHT = (1, 8, 64)
TOKEN = "bench-static-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def echo_server(token: str = "") -> AsyncGenerator[str]:
    """Start the echo server in its own process; yield its MCP URL once it accepts connections."""
    port = free_port()
    command = [*SERVER, str(port), *([token] if token else [])]
    process = await anyio.open_process(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with anyio.fail_after(30):
            while True:
                try:
                    stream = await anyio.connect_tcp("127.0.0.1", port)
                except OSError:
                    await anyio.sleep(0.05)
                    continue
                await stream.aclose()
                break
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        with anyio.fail_after(10):
            await process.wait()


def direct_client(url: str, headers: dict[str, str]) -> Client:
    return Client(streamable_http_client(url, http_client=httpx2.AsyncClient(headers=headers)))


async def timed(case: Case, call: Callable[[], Awaitable[object]], *, calls: int, repeats: int) -> Case:
    """``run_case``, also noting this process's CPU time per call (the server runs elsewhere)."""
    started = time.process_time()
    await run_case(case, call, calls=calls, repeats=repeats)
    case.cpu_s = (time.process_time() - started) / (len(case.latencies_s) + max(1, calls // 20))
    return case


async def measure_direct(name: str, connect: Callable[[], Client], *, calls: int, repeats: int) -> list[Case]:
    cases: list[Case] = []
    for in_flight in IN_FLIGHT:
        async with connect() as client:

            async def call(client: Client = client) -> object:
                return await client.call_tool("echo", {"text": "hello"})

            cases.append(await timed(Case(name, in_flight), call, calls=calls, repeats=repeats))
    return cases


async def measure_connector(
    auth: str, url: str, headers: dict[str, str], *, calls: int, repeats: int
) -> tuple[list[Case], list[Case]]:
    """The connector's own source called directly, and the whole call path (``Host.call_tool``)."""
    alone: list[Case] = []
    through: list[Case] = []
    with tempfile.TemporaryDirectory() as home:
        env = {
            **os.environ,
            "TETHER_HOME": home,
            "TETHER_CONFIG": f"{home}/tether.toml",
            "TETHER_SECRETS_BACKEND": "file",
        }
        async with open_app(load_settings(env)) as tether:
            config = SourceConfig(name="echo", kind=SourceKind.HTTP, url=url, call_timeout_s=60)
            await tether.add_source(ME, config)
            tether.connector_vault(config).save_headers(headers)
            await tether.start_sources(["echo"])
            await tether.host.set_policy(ME, await tether.host.resolve("echo__echo"), Effect.ALLOW)
            source = tether.host.source("echo")
            for in_flight in IN_FLIGHT:

                async def call_source() -> object:
                    return await source.call_tool("echo", {"text": "hello"})

                async def call_host() -> object:
                    return await tether.host.call_tool(ME, "echo__echo", {"text": "hello"})

                name = f"RemoteSource.call_tool ({auth})"
                alone.append(await timed(Case(name, in_flight), call_source, calls=calls, repeats=repeats))
                name = f"connector via Host.call_tool ({auth})"
                through.append(await timed(Case(name, in_flight), call_host, calls=calls, repeats=repeats))
    return alone, through


async def measure_calls(*, calls: int, repeats: int) -> tuple[list[Row], dict[str, object]]:
    rows: list[Row] = []
    cpu: dict[str, object] = {}
    for auth, token in (("no auth", ""), ("static bearer header", TOKEN)):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with echo_server(token) as url:
            direct = await measure_direct(
                f"direct mcp client ({auth})",
                lambda headers=headers: direct_client(url, headers),
                calls=calls,
                repeats=repeats,
            )
            alone, through = await measure_connector(auth, url, headers, calls=calls, repeats=repeats)
        for index, in_flight in enumerate(IN_FLIGHT):
            rows += compare("connector", direct[index], [alone[index], through[index]])
            for case in (direct[index], alone[index], through[index]):
                cpu[f"client CPU µs per call, {case.name}, {in_flight} in flight"] = round(
                    case.cpu_s * 1e6, 1
                )
    return rows, cpu


def main(*, quick: bool) -> None:
    calls, repeats = (256, 2) if quick else (1024, 3)
    rows, cpu = anyio.run(lambda: measure_calls(calls=calls, repeats=repeats))
    report("connector: direct mcp client vs a connector through Host.call_tool", rows, cpu)
