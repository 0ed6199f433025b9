"""A real MCP server in bubblewrap, run through StdioSource: what it can and cannot reach."""

from __future__ import annotations

import os
import socket
from collections.abc import Generator
from pathlib import Path

import anyio
import pytest

from tests.sandbox.conftest import SHARED_TEXT, SSH_KEY, FakeHost, probe, requires_bwrap
from tether.sandbox import BubblewrapLauncher, LaunchSpec

pytestmark = [pytest.mark.anyio, requires_bwrap]

MiB = 1024**2


@pytest.fixture
def listener() -> Generator[int]:
    """A TCP listener on the host's 127.0.0.1; yields its port. The kernel completes connects."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


async def test_it_reads_its_bundle_and_grants_but_not_the_home_dir(
    fake_host: FakeHost, tmp_path: Path
) -> None:
    async with probe(BubblewrapLauncher(fake_host.policy()), tmp_path) as server:
        assert (await server.call("read_file", path=str(fake_host.shared / "notes.txt"))).text == SHARED_TEXT
        own_source = await server.call(
            "read_file", path=str(Path(__file__).parents[1] / "servers/probe_server.py")
        )
        assert not own_source.is_error
        for path in (fake_host.ssh_key, fake_host.outside / "private.txt", Path("/etc/shadow")):
            result = await server.call("read_file", path=str(path))
            assert result.is_error, path
            assert SSH_KEY not in result.text
        assert (await server.call("getenv", name="HOME")).text == str(fake_host.data_dir)


async def test_it_writes_only_to_its_data_dir_and_write_grants(fake_host: FakeHost, tmp_path: Path) -> None:
    async with probe(BubblewrapLauncher(fake_host.policy()), tmp_path) as server:
        for allowed in (fake_host.data_dir / "state.json", fake_host.drop / "out.txt"):
            assert (await server.call("write_file", path=str(allowed), text="ok")).text == "written"
            assert allowed.read_text() == "ok"
        for refused in (
            fake_host.outside / "x.txt",
            fake_host.shared / "x.txt",
            fake_host.home / ".bashrc",
            Path(__file__).with_name("planted.py"),
        ):
            assert (await server.call("write_file", path=str(refused), text="evil")).is_error, refused
            assert not refused.exists()


async def test_its_tmp_is_private(fake_host: FakeHost, tmp_path: Path) -> None:
    scratch = f"/tmp/tether-sandbox-test-{os.getpid()}-{tmp_path.name}.txt"
    async with probe(BubblewrapLauncher(fake_host.policy()), tmp_path) as server:
        assert (await server.call("write_file", path=scratch, text="mine")).text == "written"
        assert (await server.call("read_file", path=scratch)).text == "mine"
    assert not await anyio.Path(scratch).exists()


async def test_it_has_no_network_unless_allowed(fake_host: FakeHost, tmp_path: Path, listener: int) -> None:
    async with probe(BubblewrapLauncher(fake_host.policy()), tmp_path / "off") as server:
        assert (await server.call("connect", host="127.0.0.1", port=listener)).is_error
    launcher = BubblewrapLauncher(fake_host.policy(allow_network=True))
    async with probe(launcher, tmp_path / "on") as server:
        assert (await server.call("connect", host="127.0.0.1", port=listener)).text == "connected"
        # The network is the host's, but its Unix sockets stay out of reach.
        assert (await server.call("connect_unix", path=str(fake_host.bus_socket))).is_error


async def test_it_cannot_reach_a_unix_socket_of_the_host(fake_host: FakeHost, tmp_path: Path) -> None:
    granted = fake_host.drop / "granted.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as control:
        control.bind(str(granted))
        control.listen(8)
        async with probe(BubblewrapLauncher(fake_host.policy()), tmp_path) as server:
            assert (await server.call("connect_unix", path=str(fake_host.bus_socket))).is_error
            # The same kind of socket inside a granted dir is reachable: the check above is real.
            assert (await server.call("connect_unix", path=str(granted))).text == "connected"


async def test_it_sees_only_the_environment_it_is_given(
    fake_host: FakeHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_TEST_SECRET", "hunter2")
    monkeypatch.setenv("SSH_AUTH_SOCK", str(fake_host.bus_socket))
    monkeypatch.setenv("USER", "someone")
    launcher = BubblewrapLauncher(fake_host.policy())
    async with probe(launcher, tmp_path, env={"API_KEY": "from-settings"}) as server:
        names = (await server.call("environment")).structured
        assert names == {"result": ["API_KEY", "HOME", "LANG", "PATH", "PWD", "TMPDIR"]}  # PWD: bwrap's cwd
        assert (await server.call("getenv", name="API_KEY")).text == "from-settings"
        assert (await server.call("read_file", path=f"/proc/{os.getpid()}/environ")).is_error
    prepared = launcher.prepare(LaunchSpec("python3", env={"API_KEY": "from-settings"}))
    assert not any("from-settings" in arg for arg in prepared.args)  # never on bwrap's command line


async def test_memory_beyond_the_limit_fails(fake_host: FakeHost, tmp_path: Path) -> None:
    launcher = BubblewrapLauncher(fake_host.policy(memory_limit_bytes=256 * MiB))
    async with probe(launcher, tmp_path) as server:
        assert (await server.call("limits")).structured == {
            "data": 256 * MiB,
            "nproc": fake_host.policy().max_processes,
        }
        assert not (await server.call("allocate", size_bytes=16 * MiB)).is_error
        assert (await server.call("allocate", size_bytes=512 * MiB)).is_error
        assert not (await server.call("allocate", size_bytes=16 * MiB)).is_error  # it lives on


async def test_the_process_limit_bounds_a_fork_bomb(fake_host: FakeHost, tmp_path: Path) -> None:
    launcher = BubblewrapLauncher(fake_host.policy(max_processes=16))
    async with probe(launcher, tmp_path) as server:
        assert (await server.call("limits")).structured == {
            "data": fake_host.policy().memory_limit_bytes,
            "nproc": 16,
        }
        started = (await server.call("spawn", count=64)).structured
    if os.geteuid() == 0:
        # The kernel never applies RLIMIT_NPROC to root: the launch must say so, not claim it.
        assert started == {"result": 64}
        assert any("process limit" in gap for gap in launcher.isolation.not_enforced)
    else:
        assert started is not None
        assert 0 < started["result"] < 16
