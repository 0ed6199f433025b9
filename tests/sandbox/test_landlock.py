"""A real MCP server behind the Landlock shim (Linux without bubblewrap): file rules hold."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.sandbox.conftest import SHARED_TEXT, SSH_KEY, FakeHost, probe, requires_landlock
from tether.sandbox import LandlockLauncher

pytestmark = [pytest.mark.anyio, requires_landlock]


async def test_landlock_keeps_files_outside_the_grants_out_of_reach(
    fake_host: FakeHost, tmp_path: Path
) -> None:
    async with probe(LandlockLauncher(fake_host.policy()), tmp_path) as server:
        assert (await server.call("read_file", path=str(fake_host.shared / "notes.txt"))).text == SHARED_TEXT
        for path in (fake_host.ssh_key, fake_host.outside / "private.txt"):
            result = await server.call("read_file", path=str(path))
            assert result.is_error, path
            assert SSH_KEY not in result.text
        assert (
            await server.call("write_file", path=str(fake_host.data_dir / "a.txt"), text="ok")
        ).text == "written"
        assert (
            await server.call("write_file", path=str(fake_host.drop / "b.txt"), text="ok")
        ).text == "written"
        for refused in (fake_host.outside / "x.txt", fake_host.shared / "x.txt", fake_host.home / ".bashrc"):
            assert (await server.call("write_file", path=str(refused), text="evil")).is_error, refused
            assert not refused.exists()


async def test_landlock_hides_tethers_environment(
    fake_host: FakeHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_TEST_SECRET", "hunter2")
    launcher = LandlockLauncher(fake_host.policy())
    async with probe(launcher, tmp_path, env={"API_KEY": "from-settings"}) as server:
        names = (await server.call("environment")).structured
        assert names == {"result": ["API_KEY", "HOME", "LANG", "PATH", "TMPDIR"]}
        # /proc is readable, but Landlock keeps other processes' files (tether's env) out of reach.
        parent_env = await server.call("read_file", path=f"/proc/{os.getpid()}/environ")
        assert parent_env.is_error
        assert "hunter2" not in parent_env.text
    assert "process limit" in " ".join(launcher.isolation.not_enforced)
