"""Fixtures for the SQL store: a fresh database per test, on SQLite and on PostgreSQL.

A test that takes ``store`` or ``location`` runs once per backend: ``location`` is a data dir
(SQLite) or the URL of a PostgreSQL database at the head revision (copied: faster than
migrating). Tests of what only SQLite has (its file, the lane) are marked ``sqlite_only``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path

import pytest

from tether.store import SqlStore, open_store

BACKENDS = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: the test is about SQLite itself; run it on SQLite only")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        is_sqlite_only = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("backend", BACKENDS[:1] if is_sqlite_only else BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def location(backend: str, request: pytest.FixtureRequest, data_dir: Path) -> Path | str:
    """Where the test's store is: a data dir, or a PostgreSQL URL (the cluster starts only if asked)."""
    if backend == "postgresql":
        return str(request.getfixturevalue("postgres_head_url"))
    return data_dir


@pytest.fixture
async def store(location: Path | str) -> AsyncGenerator[SqlStore]:
    async with await open_store(location) as opened:
        yield opened
