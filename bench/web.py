"""Issue 8's benchmark: server-side time of the web UI's main pages on a busy data dir.

50 extensions and 50 connectors (5 tools each, not started), 100,000 activity rows (20,000
with --quick); each page is requested in-process, signed in, against ``/healthz``. Target:
p50 under 50 ms. Then: another process stores an approval, how soon an open page hears of it.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import anyio
import httpx2
import uvicorn
from tests.extensions.ext_servers import manifest, python_extension

from bench.measure import Case, Row, compare, report, run_case
from tether.app import App, open_app
from tether.config import load_settings
from tether.core.activity import ToolCalled
from tether.demo.tasks_server import bind_loopback
from tether.extensions.pack import pack_bundle
from tether.store.db import SqlStore, open_store
from tether.types import (
    Actor,
    ApprovalRequest,
    Decision,
    Effect,
    HostedTool,
    SourceConfig,
    SourceKind,
    ToolDef,
)
from tether.web.app import create_web_app
from tether.web.security import Sessions

ME = Actor("bench")
EXTENSIONS = 50
CONNECTORS = 50
TOOLS_EACH = 5
TARGET_MS = 50.0
PAGES = (
    "/extensions",
    "/connectors",
    "/tools",
    "/approvals",
    "/activity",
    "/activity?source=conn7&decision=allow",
    "/activity?kind=approval.resolved&period=24h",
    "/activity?before=1000",
    "/activity/verify",
)


def tools(prefix: str) -> list[ToolDef]:
    return [
        ToolDef(f"{prefix}_{n}", f"Tool {n} of {prefix}: does one thing well.") for n in range(TOOLS_EACH)
    ]


async def fill(app: App, bundles: Path, *, rows: int) -> None:
    installer = app.extensions()
    for n in range(EXTENSIONS):
        folder = python_extension(bundles / f"ext{n}", manifest(f"ext{n}", server_type="python"))
        path = bundles / f"ext{n}.mcpb"
        path.write_bytes(pack_bundle(folder))
        await installer.install_bundle(ME, path, start=False)
        await app.store.save_tools(f"ext{n}", tools("ext"))
    for n in range(CONNECTORS):
        config = SourceConfig(name=f"conn{n}", kind=SourceKind.HTTP, url=f"https://mcp{n}.example.com/mcp")
        await app.add_source(ME, config)
        await app.store.save_tools(f"conn{n}", tools("conn"))
    event = ToolCalled(
        source="conn7", tool="conn_1", arguments={"text": "hello"}, effect="allow", outcome="ok"
    )

    async def append(count: int) -> None:
        for _ in range(count):
            await app.store.append(event, actor=str(ME))

    async with anyio.create_task_group() as tg:  # 8 writers: the store commits them in groups
        for _ in range(8):
            tg.start_soon(append, rows // 8)
    for n in range(3):
        await app.store.create_approval(request(f"pending{n}"))


def request(approval_id: str) -> ApprovalRequest:
    return ApprovalRequest(
        id=approval_id,
        tool=HostedTool("conn1__conn_2", "conn1", ToolDef("conn_2", "Delete a thing")),
        arguments={"id": 7, "why": "benchmark"},
        actor=ME,
        requested_at=datetime.now(UTC),
        decision=Decision(Effect.ASK, "new tools ask before they run", "default"),
    )


async def measure_pages(app: App, *, calls: int, repeats: int) -> list[Row]:
    sessions = Sessions()
    web = create_web_app(app, sessions=sessions)
    async with web.router.lifespan_context(web):
        transport = httpx2.ASGITransport(app=web)
        async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as http:
            await http.get(f"/login?token={sessions.issue_login_token()}")

            def getter(path: str) -> Callable[[], Awaitable[object]]:
                async def get() -> object:
                    answer = await http.get(path, headers={"Accept": "text/html"})
                    assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
                    return answer

                return get

            baseline = await run_case(Case("/healthz", 1), getter("/healthz"), calls=calls, repeats=repeats)
            cases = [await run_case(Case(p, 1), getter(p), calls=calls, repeats=repeats) for p in PAGES]
    return compare("web pages", baseline, cases)


async def approval_latency(app: App, home: Path, *, samples: int) -> list[float]:
    """Seconds from another process storing an approval to an open page's stream carrying it."""
    sessions = Sessions()
    sock = bind_loopback()
    server = uvicorn.Server(
        uvicorn.Config(
            create_web_app(app, sessions=sessions),
            log_level="error",
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    latencies: list[float] = []
    other = await open_store(home)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: server.serve(sockets=[sock]))
            async with anyio.create_task_group() as watching:
                watching.start_soon(app.watch_store)  # what `tether serve` runs, at its default pace
                async with httpx2.AsyncClient(base_url=base, timeout=30) as http:
                    await http.get(f"/login?token={sessions.issue_login_token()}")
                    async with http.stream("GET", "/events") as stream:
                        lines = stream.aiter_lines()
                        for n in range(samples):
                            latencies.append(await _one_latency(other, lines, f"latency{n}"))
                watching.cancel_scope.cancel()
            server.should_exit = True
    finally:
        await other.close()
        sock.close()
    return latencies


async def _one_latency(other: SqlStore, lines: AsyncIterator[str], approval_id: str) -> float:
    started = time.perf_counter()
    await other.create_approval(request(approval_id))
    with anyio.fail_after(10):
        async for line in lines:
            if line.startswith("data: ") and json.loads(line[6:]).get("id") == approval_id:
                break
    return time.perf_counter() - started


def main(*, quick: bool) -> None:
    rows_wanted = 20_000 if quick else 100_000
    calls, repeats = (20, 2) if quick else (40, 3)

    async def run() -> tuple[list[Row], list[float], dict[str, object]]:
        with tempfile.TemporaryDirectory() as folder:
            home = Path(folder) / "home"
            os.environ.setdefault("TETHER_SECRETS_BACKEND", "file")
            settings = load_settings({"TETHER_HOME": str(home), "TETHER_SECRETS_BACKEND": "file"})
            async with open_app(settings) as app:
                started = time.perf_counter()
                await fill(app, Path(folder), rows=rows_wanted)
                filled_s = time.perf_counter() - started
                rows = await measure_pages(app, calls=calls, repeats=repeats)
                latencies = await approval_latency(app, home, samples=5 if quick else 10)
                extra: dict[str, object] = {"data set filled in (s)": round(filled_s, 1)}
        return rows, latencies, extra

    rows, latencies, extra = anyio.run(run)
    worst = max(r.p50_us for r in rows if r.case != "/healthz") / 1000
    latencies.sort()
    report(
        "web: server-side time of the main pages",
        rows,
        {
            **extra,
            "extensions": EXTENSIONS,
            "connectors": CONNECTORS,
            "activity rows": rows_wanted,
            "slowest page p50 (ms)": round(worst, 2),
            f"target p50 < {TARGET_MS:g} ms": "met" if worst < TARGET_MS else "missed",
            "approval stored by another process -> on the page, p50 (ms)": round(
                latencies[len(latencies) // 2] * 1000
            ),
            "approval stored by another process -> on the page, max (ms)": round(latencies[-1] * 1000),
        },
    )
