"""Issue 4's benchmark: installing a bundle vs unzipping it, starting an extension vs its server.

Install = validate + unpack + register (``install_bundle`` without starting), for a 5 MB and
a 50 MB bundle, against ``zipfile.extractall`` and Debian's ``unzip`` of the same file.
Cold start = ``App.start_extension`` to its first tools/list, for a Node and a Python
extension, against the same server started and listed directly with the MCP client.
Targets: install within 1.5x of plain unzip; cold start within 1.2x of direct.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

import anyio
from mcp import Client, StdioServerParameters, stdio_client
from rich.console import Console
from rich.table import Table
from tests.extensions.ext_servers import node_extension, python_extension

from bench.measure import RESULTS_DIR
from tether.app import open_app
from tether.config import Settings, load_settings
from tether.extensions.bundle import open_bundle
from tether.extensions.installed import plan_start
from tether.extensions.pack import pack_bundle
from tether.extensions.runtimes import find_commands
from tether.types import Actor, SourceConfig

ME = Actor("bench")
INSTALL_TARGET = 1.5
START_TARGET = 1.2
MIB = 1024 * 1024


@dataclass
class Row:
    case: str
    runs: int
    median_ms: float
    baseline: str
    baseline_ms: float
    ratio: float
    target: float

    @property
    def verdict(self) -> str:
        return "within" if self.ratio <= self.target else "over"


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def make_bundle(folder: Path, size_bytes: int) -> Path:
    """A Node extension padded with files like a node_modules tree (a fifth of them text)."""
    source = node_extension(folder)
    rng = random.Random(size_bytes)
    written, index = 0, 0
    while written < size_bytes:
        size = rng.randint(2_000, 60_000)
        path = source / "node_modules" / f"pkg{index // 50}" / f"file{index}.js"
        path.parent.mkdir(parents=True, exist_ok=True)
        if index % 5:  # mostly incompressible, so the bundle is about ``size_bytes`` on disk
            path.write_bytes(rng.randbytes(size))
        else:
            words = " ".join(
                rng.choice(("const", "return", "function", "x", "=>", "{", "}")) for _ in range(size // 5)
            )
            path.write_text(words)
        written += size
        index += 1
    bundle = folder.with_suffix(".mcpb")
    bundle.write_bytes(pack_bundle(source))
    return bundle


def time_s(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure_install(bundle: Path, label: str, *, runs: int, work: Path) -> list[Row]:
    zipfile_s: list[float] = []
    unzip_s: list[float] = []
    tether_s: list[float] = []
    unzip = shutil.which("unzip")
    for run in range(runs):
        target = work / f"x{run}"
        zipfile_s.append(time_s(lambda t=target: zipfile.ZipFile(bundle).extractall(t)))
        if unzip:
            out = work / f"u{run}"
            unzip_s.append(
                time_s(lambda o=out: subprocess.run([unzip, "-q", str(bundle), "-d", str(o)], check=True))
            )
        tether_s.append(anyio.run(_install_once, bundle, work / f"home{run}"))
        for leftover in (target, work / f"u{run}", work / f"home{run}"):
            shutil.rmtree(leftover, ignore_errors=True)
    size = f"{bundle.stat().st_size / MIB:.0f} MB"
    rows = [
        _row(
            f"install {label} ({size}) vs zipfile.extractall", tether_s, "zipfile", zipfile_s, INSTALL_TARGET
        )
    ]
    if unzip_s:
        rows.append(_row(f"install {label} ({size}) vs unzip", tether_s, "unzip", unzip_s, INSTALL_TARGET))
    return rows


def _settings(home: Path) -> Settings:
    return load_settings(
        {"TETHER_HOME": str(home), "TETHER_SECRETS_BACKEND": "file", "TETHER_CONFIG": str(home / "none.toml")}
    )


async def _install_once(bundle: Path, home: Path) -> float:
    async with open_app(_settings(home)) as app:
        installer = app.extensions()
        await installer.check_runs_here(open_bundle(bundle).manifest)  # runtimes probed outside the timing
        started = time.perf_counter()
        await installer.install_bundle(ME, bundle, start=False)
        return time.perf_counter() - started


async def _starts(
    bundle: Path, extension_id: str, home: Path, runs: int, errlog: TextIO
) -> tuple[list[float], list[float]]:
    """Seconds from ``start_extension`` to its first tools/list, and from spawning the same
    command, args, env and cwd with the MCP client to its tools/list; interleaved run by run."""
    through: list[float] = []
    direct: list[float] = []
    async with open_app(_settings(home)) as app:
        await app.extensions().install_bundle(ME, bundle, start=False)
        extension = await app.store.get_extension(extension_id)
        plan = plan_start(
            extension, {}, await app.store.get_source(extension_id), home=home, commands=find_commands()
        )
        assert plan.config is not None
        await app.start_extension(extension_id)  # warm the page cache
        for _ in range(runs):
            await app.stop_extension(extension_id)
            started = time.perf_counter()
            report = await app.start_extension(extension_id)
            through.append(time.perf_counter() - started)
            assert report.tools, report
            direct.append(await _direct_start(plan.config, errlog))
    return through, direct


async def _direct_start(config: SourceConfig, errlog: TextIO) -> float:
    params = StdioServerParameters(
        command=config.command or "", args=list(config.args), env=dict(config.env), cwd=config.cwd
    )
    started = time.perf_counter()
    async with Client(stdio_client(params, errlog=errlog)) as client:
        await client.list_tools()
        return time.perf_counter() - started


def measure_start(folder: Path, extension_id: str, *, runs: int, work: Path) -> Row:
    bundle = folder.with_suffix(".mcpb")
    bundle.write_bytes(pack_bundle(folder))
    with open(os.devnull, "w") as errlog:  # tether keeps stderr too (in its log), not on the terminal
        tether_s, direct_s = anyio.run(
            _starts, bundle, extension_id, work / f"home-{extension_id}", runs, errlog
        )
    return _row(
        f"cold start of a {extension_id} extension to tools/list", tether_s, "direct", direct_s, START_TARGET
    )


def _row(case: str, samples: list[float], baseline: str, base: list[float], target: float) -> Row:
    median, base_ms = _median_ms(samples), _median_ms(base)
    return Row(case, len(samples), median, baseline, base_ms, round(median / base_ms, 2), target)


def report(rows: list[Row]) -> None:
    table = Table(title="install: bundles and cold starts")
    for column in ("case", "runs", "tether ms", "baseline", "baseline ms", "ratio", "target"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.case,
            str(row.runs),
            f"{row.median_ms:.1f}",
            row.baseline,
            f"{row.baseline_ms:.1f}",
            f"{row.ratio:.2f}x",
            f"{row.target:g}x ({row.verdict})",
        )
    Console().print(table)
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / "install.json"
    path.write_text(json.dumps({"rows": [{**asdict(r), "verdict": r.verdict} for r in rows]}, indent=2))


def main(*, quick: bool) -> None:
    runs = 3 if quick else 9
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows: list[Row] = []
        for label, size_mib in (("5 MB", 5), ("50 MB", 50)):
            bundle = make_bundle(work / f"pad{size_mib}", size_mib * MIB)
            rows += measure_install(bundle, label, runs=runs, work=work)
        if shutil.which("node"):
            rows.append(measure_start(node_extension(work / "node"), "node", runs=runs, work=work))
        rows.append(measure_start(python_extension(work / "python"), "python", runs=runs, work=work))
    report(rows)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
