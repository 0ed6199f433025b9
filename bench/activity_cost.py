"""Issue 6's benchmark: what the activity log costs a call, and what verifying it costs.

``Host.call_tool`` against an in-memory source on the real SQLite store, with activity on
and with a store whose ``append`` writes nothing, at 1 and 8 in flight; then ``verify`` over
a log of 100,000 rows (20,000 with --quick, scaled to 100,000).
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import anyio
from tests.fakes import FakeSource

from bench.measure import Case, Row, compare, report, run_case
from tether.core.activity import GENESIS_HASH, ActivityEvent, ToolCalled, seal
from tether.core.host import Host
from tether.core.storage import Store
from tether.store import SqlStore, open_store
from tether.types import ActivityRecord, Actor, Effect

ME = Actor("bench")
VERIFY_PER_ROWS = 100_000
_NOTHING = seal(
    ToolCalled(), actor=str(ME), at=datetime(2026, 1, 1, tzinfo=UTC), seq=0, prev_hash=GENESIS_HASH
)


class ActivityOff:
    """``store`` with an ``append`` that writes nothing: the difference is what activity costs."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def append(self, event: ActivityEvent, *, actor: str) -> ActivityRecord:
        return _NOTHING


async def measure_calls(store: SqlStore, *, calls: int, repeats: int) -> list[Row]:
    rows: list[Row] = []
    for in_flight in (1, 8):
        cases: list[Case] = []
        # Off first, then on: the log grows during "on", which is the one that should pay for it.
        for name, host_store in (("activity off", cast(Store, ActivityOff(store))), ("activity on", store)):
            async with Host(host_store) as host:
                await host.add_source(FakeSource.echo("mem"))
                await host.set_policy(ME, await host.resolve("mem__echo"), Effect.ALLOW)

                async def call(host: Host = host) -> object:
                    return await host.call_tool(ME, "mem__echo", {"text": "hello"})

                cases.append(await run_case(Case(name, in_flight), call, calls=calls, repeats=repeats))
        rows += compare("activity cost", cases[0], cases[1:])
    return rows


async def time_verify(store: SqlStore, rows: int) -> tuple[float, int]:
    """Seconds ``verify`` takes over a log of at least ``rows`` rows, and how many it checked."""
    have = (await store.verify()).checked
    event = ToolCalled(source="bulk", tool="t", arguments={"text": "hello"}, effect="allow", outcome="ok")

    async def append(count: int) -> None:
        for _ in range(count):
            await store.append(event, actor=str(ME))

    async with anyio.create_task_group() as tg:  # 8 writers: the lane commits them in groups
        for _ in range(8):
            tg.start_soon(append, max(0, rows - have) // 8 + 1)
    started = time.perf_counter()
    checked = await store.verify()
    elapsed = time.perf_counter() - started
    assert checked.is_intact, checked.problem
    return elapsed, checked.checked


async def run(*, calls: int, repeats: int, verify_rows: int) -> tuple[list[Row], float, int]:
    with tempfile.TemporaryDirectory() as home:
        async with await open_store(Path(home)) as store:
            rows = await measure_calls(store, calls=calls, repeats=repeats)
            seconds, checked = await time_verify(store, verify_rows)
    return rows, seconds, checked


def main(*, quick: bool) -> None:
    calls, repeats, verify_rows = (2000, 3, 20_000) if quick else (10_000, 5, VERIFY_PER_ROWS)
    rows, seconds, checked = anyio.run(lambda: run(calls=calls, repeats=repeats, verify_rows=verify_rows))
    report(
        "activity cost: Host.call_tool with activity off vs on",
        rows,
        {
            "verify rows checked": checked,
            "verify seconds": round(seconds, 3),
            "verify seconds per 100,000 rows": round(seconds * VERIFY_PER_ROWS / checked, 3),
        },
    )
