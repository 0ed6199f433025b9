"""Issue 9's sandbox benchmark: cold start of an extension to its first tools/list, sandboxed vs not.

Each run spawns the echo server through a launcher, as the runner does, and times spawn ->
handshake -> tools/list. Cases are interleaved run by run so drift hits them alike; the
target is at most 50 ms added by bubblewrap at the median. ``bwrap true`` isolates the wrapper.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters
from rich.console import Console
from rich.table import Table

from bench.measure import RESULTS_DIR
from tether.sandbox import (
    BubblewrapLauncher,
    IsolatingLauncher,
    LandlockLauncher,
    LaunchSpec,
    PlainLauncher,
    SandboxPolicy,
    probe_host,
)

ECHO = Path(__file__).with_name("echo_server.py")
TARGET_ADDED_MS = 50.0


@dataclass
class StartRow:
    case: str
    runs: int
    median_ms: float
    min_ms: float
    max_ms: float
    spread: float
    """(max - min) / median."""
    added_ms: float
    """Median minus the unsandboxed median of the same kind."""


async def cold_start_s(launcher: IsolatingLauncher) -> float:
    """Seconds from spawning the echo server through ``launcher`` to its tools/list answer."""
    spec = launcher.prepare(LaunchSpec(sys.executable, (str(ECHO),)))
    params = StdioServerParameters(
        command=spec.command, args=list(spec.args), env=dict(spec.env), cwd=spec.cwd
    )
    started = time.perf_counter()
    async with Client(params) as client:
        await client.list_tools()
        return time.perf_counter() - started


def wrapper_only_s(launcher: IsolatingLauncher) -> float:
    """Seconds to run ``true`` through ``launcher``: the wrapper's own cost, no interpreter start."""
    spec = launcher.prepare(LaunchSpec("true"))
    started = time.perf_counter()
    subprocess.run([spec.command, *spec.args], env=dict(spec.env), cwd=spec.cwd, check=True)
    return time.perf_counter() - started


def launchers(data_dir: Path) -> dict[str, IsolatingLauncher]:
    policy = SandboxPolicy(bundle_dir=ECHO.parent, data_dir=data_dir)
    support = probe_host()
    cases: dict[str, IsolatingLauncher] = {"unsandboxed": PlainLauncher()}
    if support.bwrap is not None:
        cases["bubblewrap"] = BubblewrapLauncher(policy, support=support)
    if support.landlock_abi > 0:
        cases["landlock"] = LandlockLauncher(policy, support=support)
    return cases


def summarise(kind: str, times_s: dict[str, list[float]]) -> list[StartRow]:
    base_ms = statistics.median(times_s["unsandboxed"]) * 1000
    rows: list[StartRow] = []
    for case, samples in times_s.items():
        ms = [t * 1000 for t in samples]
        median = statistics.median(ms)
        rows.append(
            StartRow(
                f"{kind}: {case}",
                len(ms),
                round(median, 1),
                round(min(ms), 1),
                round(max(ms), 1),
                round((max(ms) - min(ms)) / median, 3),
                round(median - base_ms, 1),
            )
        )
    return rows


def measure(*, runs: int) -> list[StartRow]:
    with tempfile.TemporaryDirectory() as home:
        cases = launchers(Path(home) / "data")
        for launcher in cases.values():  # warm the page cache and the probe once
            anyio.run(cold_start_s, launcher)
        starts: dict[str, list[float]] = {name: [] for name in cases}
        wrappers: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(runs):
            for name, launcher in cases.items():
                starts[name].append(anyio.run(cold_start_s, launcher))
                wrappers[name].append(wrapper_only_s(launcher))
    return summarise("first tools/list", starts) + summarise("`true`", wrappers)


def report(rows: list[StartRow], extra: dict[str, object]) -> None:
    table = Table(title="sandbox: cold start to first tools/list")
    for column in ("case", "runs", "median ms", "min ms", "max ms", "spread", "added ms"):
        table.add_column(column)
    for row in rows:
        added = "" if row.case.endswith("unsandboxed") else f"+{row.added_ms:.1f}"
        table.add_row(
            row.case,
            str(row.runs),
            f"{row.median_ms:.1f}",
            f"{row.min_ms:.1f}",
            f"{row.max_ms:.1f}",
            f"{row.spread:.0%}",
            added,
        )
    console = Console()
    console.print(table)
    for key, value in extra.items():
        console.print(f"{key}: {value}")
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / "sandbox.json"
    path.write_text(json.dumps({"rows": [asdict(row) for row in rows], **extra}, indent=2, default=str))


def main(*, quick: bool) -> None:
    rows = measure(runs=5 if quick else 21)
    bwrap = next((row for row in rows if row.case == "first tools/list: bubblewrap"), None)
    verdict = (
        "bubblewrap not usable here"
        if bwrap is None
        else (
            f"+{bwrap.added_ms:.1f} ms ({'within' if bwrap.added_ms <= TARGET_ADDED_MS else 'over'} "
            f"the {TARGET_ADDED_MS:g} ms target)"
        )
    )
    report(rows, {"bubblewrap added at the median": verdict, "isolation": probe_host().describe()})


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
