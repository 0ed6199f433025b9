"""A tether replica for the team-mode test: calls a tool many times through its own App.

Run as ``python team_caller.py NAME CALLS`` with TETHER_HOME and TETHER_DATABASE_URL set. It
opens tether, starts the sources, prints ``ready``, waits for a line on stdin so that every
replica starts together, then calls ``echo__echo`` CALLS times and prints a JSON summary.
"""

from __future__ import annotations

import json
import sys

import anyio
import anyio.to_thread

from tether.app import open_app
from tether.types import Actor


async def main(name: str, calls: int) -> None:
    async with open_app() as tether:
        await tether.start_sources()
        print("ready", flush=True)
        await anyio.to_thread.run_sync(sys.stdin.readline)
        answered = 0
        for n in range(calls):
            result = await tether.host.call_tool(
                Actor("replica", name), "echo__echo", {"text": f"{name}-{n}"}
            )
            answered += not result.is_error
        print(json.dumps({"answered": answered}), flush=True)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], int(sys.argv[2]))
