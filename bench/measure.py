"""Timing helpers shared by the benchmarks: run calls at N in flight, summarise, report.

Figures on shared machines move by 20% or more between runs, so every case is repeated
and compared only with the direct path measured in the same run.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import anyio
from rich.console import Console
from rich.table import Table

RESULTS_DIR = Path(__file__).parent / "results"


@dataclass
class Case:
    """One measured configuration: latencies of every call and the wall time of each repeat."""

    name: str
    in_flight: int
    latencies_s: list[float] = field(default_factory=list[float])
    rates: list[float] = field(default_factory=list[float])
    cpu_s: float = 0.0

    @property
    def p50_us(self) -> float:
        return statistics.median(self.latencies_s) * 1e6

    @property
    def p99_us(self) -> float:
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e6

    @property
    def calls_per_s(self) -> float:
        return statistics.median(self.rates)

    @property
    def spread(self) -> float:
        """(max - min) / median of the per-repeat rates."""
        return (max(self.rates) - min(self.rates)) / self.calls_per_s if self.rates else 0.0


async def run_case(case: Case, call: Callable[[], Awaitable[object]], *, calls: int, repeats: int) -> Case:
    """Make ``calls`` calls with ``case.in_flight`` at once, ``repeats`` times."""
    for _ in range(max(1, calls // 20)):  # warm up
        await call()
    for _ in range(repeats):
        per_worker = calls // case.in_flight
        started = time.perf_counter()

        async def worker(per_worker: int = per_worker) -> None:
            for _ in range(per_worker):
                t0 = time.perf_counter()
                await call()
                case.latencies_s.append(time.perf_counter() - t0)

        async with anyio.create_task_group() as tg:
            for _ in range(case.in_flight):
                tg.start_soon(worker)
        case.rates.append(per_worker * case.in_flight / (time.perf_counter() - started))
    return case


@dataclass
class Row:
    benchmark: str
    case: str
    in_flight: int
    p50_us: float
    p99_us: float
    calls_per_s: float
    spread: float
    vs_direct: str = ""


def compare(benchmark: str, direct: Case, others: list[Case]) -> list[Row]:
    rows = [_row(benchmark, direct, "")]
    for case in others:
        added = case.p50_us - direct.p50_us
        rows.append(
            _row(
                benchmark,
                case,
                f"+{added:.0f} µs p50, {case.calls_per_s / direct.calls_per_s:.0%} of calls/s",
            )
        )
    return rows


def _row(benchmark: str, case: Case, note: str) -> Row:
    return Row(
        benchmark,
        case.name,
        case.in_flight,
        round(case.p50_us, 1),
        round(case.p99_us, 1),
        round(case.calls_per_s, 1),
        round(case.spread, 3),
        note,
    )


def report(title: str, rows: list[Row], extra: dict[str, object] | None = None) -> None:
    table = Table(title=title)
    for column in ("case", "in flight", "p50 µs", "p99 µs", "calls/s", "spread", "vs direct"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.case,
            str(row.in_flight),
            f"{row.p50_us:.0f}",
            f"{row.p99_us:.0f}",
            f"{row.calls_per_s:.0f}",
            f"{row.spread:.0%}",
            row.vs_direct,
        )
    console = Console()
    console.print(table)
    for key, value in (extra or {}).items():
        console.print(f"{key}: {value}")
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{title.split(':')[0].strip().replace(' ', '_')}.json"
    path.write_text(json.dumps({"rows": [asdict(r) for r in rows], **(extra or {})}, indent=2, default=str))
