"""The macOS sandbox-exec profile, checked as text (it cannot run on Linux)."""

from __future__ import annotations

from pathlib import Path

from tether.sandbox import LaunchSpec, SandboxExecLauncher, SandboxPolicy, seatbelt_profile

POLICY = SandboxPolicy(
    bundle_dir=Path("/ext/hello/1.0.0"),
    data_dir=Path("/ext/hello/data"),
    read_only_paths=(Path("/Users/ada/Documents"),),
    read_write_paths=(Path("/Users/ada/Desktop"),),
)


def profile(policy: SandboxPolicy = POLICY, runtime: tuple[Path, ...] = ()) -> list[str]:
    return seatbelt_profile(policy, runtime, realpath=lambda path: path).splitlines()


def test_everything_is_denied_unless_allowed() -> None:
    lines = profile()
    assert lines[:2] == ["(version 1)", "(deny default)"]
    assert not any(line.startswith("(allow default") for line in lines)
    assert not any("network" in line for line in lines)


def test_grants_are_readable_and_only_the_data_dir_and_write_grants_writable() -> None:
    lines = profile(runtime=(Path("/opt/homebrew/bin"),))
    assert (
        '(allow file-read* (subpath "/opt/homebrew/bin") (subpath "/ext/hello/1.0.0") '
        '(subpath "/Users/ada/Documents"))'
    ) in lines
    assert (
        '(allow file-read* file-write* (subpath "/ext/hello/data") (subpath "/Users/ada/Desktop"))' in lines
    )
    writable = [line for line in lines if "file-write*" in line]
    assert len(writable) == 1
    assert not any('/Users/ada"' in line or '(subpath "/Users")' in line for line in lines)


def test_network_is_ip_only_when_allowed() -> None:
    lines = profile(SandboxPolicy(data_dir=Path("/d"), allow_network=True))
    assert "(allow network-outbound (remote ip))" in lines
    assert not any("unix-socket" in line or "(remote unix" in line for line in lines)


def test_paths_are_quoted_as_sbpl_strings() -> None:
    odd = SandboxPolicy(data_dir=Path('/tmp/a "quoted" \\ dir'))
    assert '(subpath "/tmp/a \\"quoted\\" \\\\ dir")' in "\n".join(profile(odd))


def test_the_launcher_runs_sandbox_exec_with_the_profile(tmp_path: Path) -> None:
    launcher = SandboxExecLauncher(SandboxPolicy(data_dir=tmp_path / "data"))
    prepared = launcher.prepare(LaunchSpec("sh", ("-c", "true")))
    assert prepared.command == "/usr/bin/sandbox-exec"
    assert prepared.args[0] == "-p"
    assert prepared.args[1].startswith("(version 1)\n(deny default)")
    assert prepared.args[2:] == ("/usr/bin/sh", "-c", "true")
    assert prepared.env["HOME"] == str(tmp_path / "data")
    assert str(launcher.isolation) == (
        "sandbox-exec: filesystem, network off, no host Unix sockets; not enforced: resource limits"
    )
