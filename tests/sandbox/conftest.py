"""Set-up for the sandbox tests: a host worth escaping to, and the probe server run through
``StdioSource`` with a sandboxing launcher.

The host is a temp dir: a fake home with ``.ssh/id_rsa``, a data dir, a read-only and a
read-write grant, a dir that is not granted, and a D-Bus-like Unix socket nobody granted.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import AsyncGenerator, Generator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from tests.extensions.conftest import SERVERS, WAIT_S, running
from tether.extensions.runner import StdioSource
from tether.sandbox import (
    DEFAULT_MAX_PROCESSES,
    DEFAULT_MEMORY_LIMIT_BYTES,
    HostSupport,
    Launcher,
    SandboxPolicy,
    probe_host,
)
from tether.sandbox.host import landlock_abi
from tether.types import JSON, SourceConfig, SourceState, ToolResult

SUPPORT: HostSupport = probe_host()

requires_bwrap = pytest.mark.skipif(
    SUPPORT.bwrap is None,
    reason=(SUPPORT.bwrap_problem or "bubblewrap (bwrap) is not installed")
    + ": `apt-get install bubblewrap` to run the sandbox tests",
)
requires_landlock = pytest.mark.skipif(
    landlock_abi() == 0, reason="this kernel has no Landlock (or the landlock package is missing)"
)

SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY----- not a real key"
SHARED_TEXT = "shared with the extension, read-only"


@dataclass(frozen=True)
class FakeHost:
    """Paths on the host, granted or not."""

    home: Path
    ssh_key: Path
    data_dir: Path
    shared: Path
    """Granted read-only; holds ``notes.txt``."""
    drop: Path
    """Granted read-write."""
    outside: Path
    """Not granted: neither readable nor writable from inside."""
    bus_socket: Path
    """A listening Unix socket in a dir that is not granted, like the D-Bus session bus."""

    def policy(
        self,
        *,
        allow_network: bool = False,
        memory_limit_bytes: int | None = DEFAULT_MEMORY_LIMIT_BYTES,
        max_processes: int | None = DEFAULT_MAX_PROCESSES,
    ) -> SandboxPolicy:
        """The grants of the probe extension: its bundle, data dir, ``shared`` and ``drop``."""
        return SandboxPolicy(
            bundle_dir=SERVERS,
            data_dir=self.data_dir,
            read_only_paths=(self.shared,),
            read_write_paths=(self.drop,),
            allow_network=allow_network,
            memory_limit_bytes=memory_limit_bytes,
            max_processes=max_processes,
        )


@pytest.fixture
def fake_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Generator[FakeHost]:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    ssh_key = home / ".ssh" / "id_rsa"
    ssh_key.write_text(SSH_KEY)
    monkeypatch.setenv("HOME", str(home))  # what tether's own HOME looks like to the SDK
    shared, drop, outside, run = (tmp_path / name for name in ("shared", "drop", "outside", "run"))
    for path in (shared, drop, outside, run):
        path.mkdir()
    (shared / "notes.txt").write_text(SHARED_TEXT)
    (outside / "private.txt").write_text("not for extensions")
    bus_socket = run / "bus"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(bus_socket))
        listener.listen(8)
        yield FakeHost(home, ssh_key, tmp_path / "data", shared, drop, outside, bus_socket)


class Probe:
    """The running probe server: call its tools with a bounded wait."""

    def __init__(self, source: StdioSource) -> None:
        self.source = source

    async def call(self, tool: str, **arguments: JSON) -> ToolResult:
        with anyio.fail_after(WAIT_S):
            return await self.source.call_tool(tool, arguments)


@asynccontextmanager
async def probe(
    launcher: Launcher, log_dir: Path, env: Mapping[str, str] | None = None
) -> AsyncGenerator[Probe]:
    """Run ``tests/servers/probe_server.py`` through ``launcher``, as the host runs an extension."""
    config = SourceConfig(
        name="probe", command=sys.executable, args=(str(SERVERS / "probe_server.py"),), env=env or {}
    )
    source = StdioSource(config, log_dir=log_dir, launcher=launcher, max_start_failures=1)
    async with running(source):
        status = source.status
        assert status.state is SourceState.RUNNING, f"{status.detail}: {status.stderr_tail}"
        yield Probe(source)
