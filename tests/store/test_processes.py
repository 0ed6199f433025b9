"""Two real tether processes writing to one database lose nothing and keep the chain whole."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
import anyio.abc
from anyio.streams.buffered import BufferedByteReceiveStream

from tether.core.storage import ActivityFilter
from tether.store import open_store
from tether.types import Effect

from .writer import SHARED_TOOL

WRITER = Path(__file__).with_name("writer.py")
ROWS = 200


async def test_two_processes_appending_and_setting_policies_lose_nothing(location: Path | str) -> None:
    summaries: dict[str, dict[str, int]] = {}
    with anyio.fail_after(90):
        async with (
            await _start_writer(location, "a") as a,
            await _start_writer(location, "b") as b,
        ):
            writers = {"a": a, "b": b}
            outputs = {name: BufferedByteReceiveStream(_stdout(p)) for name, p in writers.items()}
            for name, output in outputs.items():
                assert await _line(output, writers[name]) == b"ready"
            for process in writers.values():  # both were waiting: now they write at the same time
                assert process.stdin is not None
                await process.stdin.send(b"go\n")
            for name, output in outputs.items():
                summaries[name] = json.loads(await _line(output, writers[name]))
                assert await writers[name].wait() == 0, await _stderr(writers[name])

    async with await open_store(location) as store:
        records = await store.records()
        assert len(records) == 2 * ROWS
        assert [r.seq for r in records] == list(range(1, 2 * ROWS + 1))
        for name in ("a", "b"):
            mine = await store.records(ActivityFilter(source=name))
            assert [r.tool for r in mine] == [f"t{n}" for n in range(ROWS)]
        report = await store.verify()
        assert report.is_intact, report.problem
        assert report.checked == 2 * ROWS

        effects = await store.all_effects()
        for name, effect in (("a", Effect.ALLOW), ("b", Effect.BLOCK)):
            assert {k: v for k, v in effects.items() if k[0] == name} == {
                (name, f"t{n}"): effect for n in range(0, ROWS, 4)
            }
        assert SHARED_TOOL in effects
    # set_effect reads and writes in one transaction: only the very first write saw no policy.
    assert sum(s["saw_no_previous"] for s in summaries.values()) == 1


async def _start_writer(location: Path | str, name: str) -> anyio.abc.Process:
    return await anyio.open_process(
        [sys.executable, str(WRITER), str(location), name, str(ROWS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _stdout(process: anyio.abc.Process) -> anyio.abc.ByteReceiveStream:
    assert process.stdout is not None
    return process.stdout


async def _line(output: BufferedByteReceiveStream, process: anyio.abc.Process) -> bytes:
    try:
        return await output.receive_until(b"\n", 4096)
    except (anyio.IncompleteRead, anyio.EndOfStream):
        raise AssertionError(f"the writer stopped early:\n{await _stderr(process)}") from None


async def _stderr(process: anyio.abc.Process) -> str:
    assert process.stderr is not None
    chunks = [chunk async for chunk in process.stderr]
    return b"".join(chunks).decode(errors="replace")
