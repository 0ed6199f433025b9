"""Which launcher each kind of machine gets, and what ``doctor`` and each launch say about it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tether.sandbox import (
    BubblewrapLauncher,
    HostSupport,
    LandlockLauncher,
    LaunchSpec,
    PlainLauncher,
    SandboxExecLauncher,
    SandboxPolicy,
    best_launcher,
    describe_isolation,
    probe_host,
)

POLICY = SandboxPolicy()


def test_linux_with_bubblewrap_gets_bubblewrap() -> None:
    support = HostSupport("linux", bwrap="/usr/bin/bwrap", prlimit="/usr/bin/prlimit", landlock_abi=4)
    assert isinstance(best_launcher(POLICY, support=support), BubblewrapLauncher)
    assert support.describe().startswith("bubblewrap (/usr/bin/bwrap): each local extension sees only")


def test_linux_without_bubblewrap_falls_back_to_landlock_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    support = HostSupport("linux", landlock_abi=4)
    with caplog.at_level(logging.WARNING):
        launcher = best_launcher(POLICY, support=support)
    assert isinstance(launcher, LandlockLauncher)
    assert str(launcher.isolation).startswith(
        "landlock: filesystem, clean environment, memory 4 GiB; not enforced:"
    )
    assert "network" in launcher.isolation.not_enforced
    assert "Landlock file rules only" in caplog.text
    assert support.describe().startswith("landlock (ABI 4): filesystem only")


def test_linux_with_neither_runs_unsandboxed_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    support = HostSupport("linux", bwrap_problem="bubblewrap (/usr/bin/bwrap) cannot create a sandbox here")
    with caplog.at_level(logging.WARNING):
        launcher = best_launcher(POLICY, support=support)
    assert isinstance(launcher, PlainLauncher)
    assert not launcher.isolation.is_sandboxed
    assert str(launcher.isolation) == (
        "off: bubblewrap (/usr/bin/bwrap) cannot create a sandbox here and the kernel has no Landlock; "
        "the extension runs with your user's permissions"
    )
    assert "unsandboxed" in caplog.text
    assert support.describe().startswith("isolation is off: bubblewrap (/usr/bin/bwrap) cannot create")


def test_macos_gets_sandbox_exec_and_windows_runs_unsandboxed() -> None:
    mac = HostSupport("darwin", sandbox_exec="/usr/bin/sandbox-exec")
    assert isinstance(best_launcher(POLICY, support=mac), SandboxExecLauncher)
    windows = best_launcher(POLICY, support=HostSupport("win32"))
    assert isinstance(windows, PlainLauncher)
    assert "tether has no sandbox for win32" in str(windows.isolation)
    assert HostSupport("win32").describe().startswith("isolation is off: tether has no sandbox for win32")


def test_doctor_describes_this_machine() -> None:
    assert describe_isolation() == probe_host().describe()
    assert describe_isolation().split(" ")[0] in ("bubblewrap", "landlock", "sandbox-exec", "isolation")


def test_the_landlock_shim_gets_grants_names_and_limits_but_no_values(tmp_path: Path) -> None:
    policy = SandboxPolicy(
        bundle_dir=tmp_path / "bundle", data_dir=tmp_path / "data", read_write_paths=(tmp_path / "drop",)
    )
    launcher = LandlockLauncher(policy, support=HostSupport("linux", landlock_abi=4), python="/py")
    prepared = launcher.prepare(LaunchSpec("sh", ("-c", "true"), env={"API_KEY": "s3cret"}))
    assert prepared.command == "/py"
    assert prepared.args[0] == "-I"
    config = json.loads(prepared.args[2])
    assert str(tmp_path / "bundle") in config["read"]
    assert config["write"] == ["/dev/null", str(tmp_path / "data"), str(tmp_path / "drop")]
    assert "/proc" not in config["read"]  # only /proc/self and a few system files
    assert config["memory_limit_bytes"] == policy.memory_limit_bytes
    assert config["keep_env"] == ["API_KEY", "HOME", "LANG", "PATH", "TMPDIR"]
    assert prepared.env["TMPDIR"] == str(tmp_path / "data" / "tmp")
    assert not any("s3cret" in arg for arg in prepared.args)
    assert prepared.args[3:] == ("--", "/usr/bin/sh", "-c", "true")
