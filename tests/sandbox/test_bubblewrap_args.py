"""What the bubblewrap launcher puts on bwrap's command line, checked without running it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.sandbox import BubblewrapLauncher, HostSupport, LaunchSpec, SandboxPolicy

LINUX = HostSupport("linux", bwrap="/usr/bin/bwrap", prlimit="/usr/bin/prlimit")


def prepare(
    policy: SandboxPolicy, spec: LaunchSpec | None = None, support: HostSupport = LINUX
) -> LaunchSpec:
    return BubblewrapLauncher(policy, support=support).prepare(spec or LaunchSpec("python3", ("server.py",)))


def mounts(args: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The mount options in order, each with its operands."""
    arity = {
        "--ro-bind": 2,
        "--ro-bind-try": 2,
        "--bind-try": 2,
        "--symlink": 2,
        "--tmpfs": 1,
        "--proc": 1,
        "--dev": 1,
    }
    found: list[tuple[str, ...]] = []
    index = 0
    while index < len(args) and args[index] != "--":
        option = args[index]
        width = arity.get(option, 1 if option in ("--unsetenv", "--cap-drop", "--chdir") else 0)
        if option in arity:
            found.append(tuple(args[index : index + width + 1]))
        index += width + 1
    return found


def test_every_namespace_is_new_and_the_network_is_shared_only_when_allowed(tmp_path: Path) -> None:
    closed = prepare(SandboxPolicy(data_dir=tmp_path))
    assert closed.command == "/usr/bin/bwrap"
    for flag in ("--unshare-all", "--die-with-parent", "--new-session"):
        assert flag in closed.args
    assert closed.args[closed.args.index("--cap-drop") + 1] == "ALL"
    assert "--share-net" not in closed.args
    assert "--share-net" in prepare(SandboxPolicy(data_dir=tmp_path, allow_network=True)).args


def test_no_host_sockets_run_dir_or_home_are_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime_dir = tmp_path / "run-user"
    runtime_dir.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime_dir))
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={runtime_dir}/bus")
    monkeypatch.setenv("SSH_AUTH_SOCK", f"{runtime_dir}/ssh-agent")
    monkeypatch.setenv("DOCKER_HOST", "unix:///var/run/docker.sock")
    spec = prepare(SandboxPolicy(data_dir=tmp_path / "data"), LaunchSpec("sh"))  # a system runtime
    sources = {mount[1] for mount in mounts(spec.args) if mount[0] != "--symlink"}
    assert "/" not in sources
    for forbidden in (
        "/run",
        "/var/run",
        "/var",
        "/tmp/.X11-unix",
        str(runtime_dir),
        str(Path.home()),
        "/home",
    ):
        assert forbidden not in sources
        assert not any(source.startswith(f"{forbidden}/") for source in sources)
    for name in ("XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS", "SSH_AUTH_SOCK", "DOCKER_HOST"):
        assert spec.args[spec.args.index(name) - 1] == "--unsetenv"
        assert name not in spec.env


def test_system_dirs_are_read_only_and_the_data_dir_writable(tmp_path: Path) -> None:
    bundle, data, shared, drop, extra = (
        tmp_path / name for name in ("bundle", "data", "shared", "drop", "extra")
    )
    policy = SandboxPolicy(
        bundle_dir=bundle,
        data_dir=data,
        read_only_paths=(shared,),
        read_write_paths=(drop,),
        extra_paths=(extra,),
    )
    found = mounts(prepare(policy).args)
    assert ("--ro-bind", "/usr", "/usr") in found
    for read_only in (bundle, shared, extra):
        assert ("--ro-bind-try", str(read_only), str(read_only)) in found
    for writable in (data, drop):
        assert ("--bind-try", str(writable), str(writable)) in found
    assert ("--tmpfs", "/tmp") in found
    assert ("--proc", "/proc") in found
    assert ("--dev", "/dev") in found
    assert data.is_dir()  # created so that HOME exists


def test_parents_are_mounted_before_what_is_under_them(tmp_path: Path) -> None:
    found = mounts(prepare(SandboxPolicy(data_dir=tmp_path / "data")).args)
    tmpfs = found.index(("--tmpfs", "/tmp"))
    data = found.index(("--bind-try", str(tmp_path / "data"), str(tmp_path / "data")))
    assert tmpfs < data  # the data dir under /tmp is not hidden by the private /tmp


def test_the_environment_is_the_specs_plus_essentials_and_home_is_the_data_dir(tmp_path: Path) -> None:
    spec = LaunchSpec("python3", env={"API_KEY": "s3cret", "HOME": "/home/ada"})
    prepared = prepare(SandboxPolicy(data_dir=tmp_path), spec)
    assert prepared.env == {
        "API_KEY": "s3cret",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PATH": prepared.env["PATH"],
        "TMPDIR": "/tmp",
    }
    assert not any("s3cret" in arg for arg in prepared.args)


def test_limits_are_set_by_prlimit_inside_the_sandbox(tmp_path: Path) -> None:
    policy = SandboxPolicy(data_dir=tmp_path, memory_limit_bytes=1024**3, max_processes=64)
    args = prepare(policy).args
    inner = args[args.index("--") + 1 :]
    assert inner[:4] == ("/usr/bin/prlimit", f"--data={1024**3}", "--nproc=64", "--")
    unlimited = prepare(SandboxPolicy(data_dir=tmp_path, memory_limit_bytes=None, max_processes=None)).args
    assert "/usr/bin/prlimit" not in unlimited


@pytest.mark.parametrize(
    ("support", "allow_network", "text"),
    [
        (
            LINUX,
            False,
            "bubblewrap: filesystem, network off, clean environment, private /tmp, no host Unix sockets, "
            "memory 4 GiB, 256 processes",
        ),
        (
            HostSupport("linux", bwrap="/usr/bin/bwrap", prlimit="/usr/bin/prlimit", is_root=True),
            False,
            "bubblewrap: filesystem, network off, clean environment, private /tmp, no host Unix sockets, "
            "memory 4 GiB; not enforced: process limit (the kernel does not apply it to root)",
        ),
        (
            HostSupport("linux", bwrap="/usr/bin/bwrap"),
            True,
            "bubblewrap: filesystem, host network, clean environment, private /tmp, no host Unix sockets; "
            "not enforced: memory and process limits (prlimit not found), "
            "abstract Unix sockets of the host (they share the network namespace)",
        ),
    ],
)
def test_each_launch_says_how_far_it_is_contained(
    support: HostSupport, allow_network: bool, text: str
) -> None:
    launcher = BubblewrapLauncher(SandboxPolicy(allow_network=allow_network), support=support)
    assert str(launcher.isolation) == text
    assert launcher.isolation.is_sandboxed


def test_it_starts_in_the_specs_dir_when_granted_else_in_the_data_dir(tmp_path: Path) -> None:
    bundle, data = tmp_path / "bundle", tmp_path / "data"
    policy = SandboxPolicy(bundle_dir=bundle, data_dir=data)
    in_bundle = prepare(policy, LaunchSpec("sh", cwd=str(bundle / "server"))).args
    assert in_bundle[in_bundle.index("--chdir") + 1] == str(bundle / "server")
    elsewhere = prepare(policy, LaunchSpec("sh", cwd=str(tmp_path / "elsewhere"))).args
    assert elsewhere[elsewhere.index("--chdir") + 1] == str(data)
