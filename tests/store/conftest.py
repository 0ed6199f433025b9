"""Fixtures for the SQL store: a real SQLite database in a fresh data dir per test."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path

import pytest

from tether.store import SqlStore, open_store


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def store(data_dir: Path) -> AsyncGenerator[SqlStore]:
    async with await open_store(data_dir) as opened:
        yield opened
