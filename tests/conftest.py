"""Shared test set-up: async tests run on anyio's asyncio backend (anyio_mode = auto); strict mode
turns skips into failures."""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

STRICT = os.environ.get("TETHER_TEST_STRICT") == "1"

# `mcpb`: the reference CLI from npm; `postgres_cluster`, `postgres_url`: a throwaway PostgreSQL;
# `redis_server_url`: a throwaway Redis.
pytest_plugins = ["tests.mcpb_cli", "tests.postgres", "tests.redis_server"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under TETHER_TEST_STRICT=1: {report.longrepr}"
    return report


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the real data dir."""
    monkeypatch.setenv("TETHER_HOME", str(tmp_path_factory.mktemp("tether-home")))


NO_REGISTRY = "http://127.0.0.1:9/no-registry-in-tests"
"""The discard port: refused at once. Tests that want a registry serve one on 127.0.0.1."""


@pytest.fixture(autouse=True)
def _no_internet_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test asks the public MCP Registry: settings loaded in tests (and tether processes they
    start) point at a closed port of 127.0.0.1 unless the test sets a registry of its own."""
    import tether.config

    monkeypatch.setattr(tether.config, "DEFAULT_REGISTRY_URL", NO_REGISTRY)
    monkeypatch.setenv("TETHER_DIRECTORY_REGISTRY_URL", NO_REGISTRY)
