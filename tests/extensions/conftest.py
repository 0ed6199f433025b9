"""Helpers for the runner tests: configs for the test servers in tests/servers, run a source."""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypedDict

import anyio

from tether.extensions.runner import StdioSource
from tether.types import SourceConfig

SERVERS = Path(__file__).parent.parent / "servers"


class Backoff(TypedDict):
    backoff_initial_s: float
    backoff_max_s: float


FAST_RESTARTS = Backoff(backoff_initial_s=0.01, backoff_max_s=0.05)
"""Supervisor settings that keep restart tests quick."""

WAIT_S = 20.0
"""Bound for any wait on a child process (a slow CI machine starts Python slowly)."""


def server_config(name: str, script: str, *args: str, call_timeout_s: float = 30.0) -> SourceConfig:
    """A source running ``tests/servers/<script>`` with this interpreter."""
    return SourceConfig(
        name=name,
        command=sys.executable,
        args=(str(SERVERS / script), *args),
        call_timeout_s=call_timeout_s,
    )


def inline_config(name: str, code: str) -> SourceConfig:
    """A source running ``python -c code``."""
    return SourceConfig(name=name, command=sys.executable, args=("-c", code))


@asynccontextmanager
async def running(*sources: StdioSource) -> AsyncGenerator[None]:
    """Start ``sources`` concurrently (as the host does), and close them at the end."""
    async with anyio.create_task_group() as tg:
        with anyio.fail_after(WAIT_S):
            async with anyio.create_task_group() as starting:
                for source in sources:
                    starting.start_soon(tg.start, source.run)
        try:
            yield
        finally:
            with anyio.fail_after(WAIT_S, shield=True):
                for source in sources:
                    await source.close()
