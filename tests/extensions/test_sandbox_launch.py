"""The process-launch seam (tether.sandbox): what runs is what the launcher prepares."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.extensions.conftest import SERVERS, running
from tether.extensions.runner import StdioSource
from tether.sandbox import LaunchSpec, PlainLauncher
from tether.types import SourceConfig, SourceState

pytestmark = pytest.mark.anyio


def test_the_plain_launcher_runs_the_command_unchanged() -> None:
    spec = LaunchSpec(command="node", args=("server.js",), env={"KEY": "value"}, cwd="/srv")
    assert PlainLauncher().prepare(spec) == spec


def test_the_plain_launcher_says_isolation_is_off() -> None:
    assert not PlainLauncher().isolation.is_sandboxed
    assert str(PlainLauncher("no bwrap").isolation).startswith("off: no bwrap;")


class EchoLauncher:
    """Runs the echo test server whatever the source asked for, and remembers the request."""

    def __init__(self) -> None:
        self.asked: list[LaunchSpec] = []

    def prepare(self, spec: LaunchSpec) -> LaunchSpec:
        self.asked.append(spec)
        return LaunchSpec(command=sys.executable, args=(str(SERVERS / "echo_server.py"),), env=spec.env)


async def test_the_source_starts_what_the_launcher_prepares(tmp_path: Path) -> None:
    launcher = EchoLauncher()
    config = SourceConfig(name="wrapped", command="not-a-real-program", args=("--flag",), env={"A": "1"})
    source = StdioSource(config, log_dir=tmp_path, launcher=launcher)
    async with running(source):
        assert source.status.state is SourceState.RUNNING
    assert launcher.asked == [LaunchSpec(command="not-a-real-program", args=("--flag",), env={"A": "1"})]
