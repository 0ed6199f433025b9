"""A second tether process for the concurrency test: appends activity and sets policies.

Run as ``python writer.py LOCATION NAME ROWS`` (a data dir or a database URL). It opens the store,
prints ``ready``, waits for a line on stdin so that all writers start together, then prints a
JSON summary.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import anyio.to_thread

from tether.core.activity import ToolCalled
from tether.store import open_store
from tether.types import Effect

SHARED_TOOL = ("shared", "contested")


async def main(location: Path | str, name: str, rows: int) -> None:
    async with await open_store(location) as store:
        print("ready", flush=True)
        await anyio.to_thread.run_sync(sys.stdin.readline)
        saw_no_previous = 0
        own_effect = Effect.ALLOW if name == "a" else Effect.BLOCK
        for n in range(rows):
            await store.append(ToolCalled(source=name, tool=f"t{n}", arguments={"n": n}), actor=name)
            if n % 4 == 0:
                await store.set_effect(name, f"t{n}", own_effect)
                if await store.set_effect(*SHARED_TOOL, own_effect) is None:
                    saw_no_previous += 1
        print(json.dumps({"saw_no_previous": saw_no_previous}), flush=True)


if __name__ == "__main__":
    where = sys.argv[1]
    anyio.run(main, where if "://" in where else Path(where), sys.argv[2], int(sys.argv[3]))
