"""Helpers for the runner tests (configs for the test servers in tests/servers, run a source) and
for the installer tests (a data dir and a running App)."""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypedDict

import anyio
import pytest

from tether.app import App, open_app
from tether.config import Settings, load_settings
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


# -- installing extensions (test_install*.py) -------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A data dir of its own, secrets in an encrypted file, a start that gives up after one try."""
    return load_settings(
        {
            "TETHER_HOME": str(tmp_path / "home"),
            "TETHER_CONFIG": str(tmp_path / "tether.toml"),
            "TETHER_SECRETS_BACKEND": "file",
            "TETHER_START_TIMEOUT_S": "15",
            "TETHER_MAX_START_FAILURES": "1",
        }
    )


@pytest.fixture
async def tether_app(settings: Settings) -> AsyncGenerator[App]:
    async with open_app(settings) as app:
        yield app
