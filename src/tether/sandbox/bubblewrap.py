"""Linux: run an extension inside bubblewrap (``bwrap``), with only what its policy grants.

All namespaces are new (no network unless allowed), the root is empty but for the system
dirs and a few /etc files read-only, the runtime and bundle read-only, the data dir and
granted paths, a private /tmp, /proc and /dev. /run, the home dir and every host socket
(D-Bus, X11, ssh-agent, Docker) stay outside. Only rewrites the spec: it starts nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from tether.sandbox.host import HostSupport, probe_host
from tether.sandbox.launch import LaunchSpec
from tether.sandbox.limits import bubblewrap_limits, limit_command
from tether.sandbox.policy import Isolation, SandboxPolicy
from tether.sandbox.runtime import ETC_FILES, SYSTEM_DIRS, Runtime, find_runtime, is_system_path

INHERITED_NAMES = frozenset({"HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"})
"""What the MCP SDK's stdio spawner passes from tether's own environment."""


class BubblewrapLauncher:
    """Wraps a command in ``bwrap`` as ``policy`` says; see the module docstring for what is kept out.

    The environment inside is exactly the spec's env plus ``HOME`` (the data dir), ``PATH``,
    ``LANG`` and ``TMPDIR``. The values travel in bwrap's own environment and every other name
    is unset: ``--clearenv`` would need each value on bwrap's command line, where any local
    user can read it (``ps``), and an extension's env often holds its API key.
    """

    def __init__(self, policy: SandboxPolicy, *, support: HostSupport | None = None) -> None:
        self.policy = policy
        self.support = support or probe_host()
        self.bwrap = self.support.bwrap or "bwrap"

    @property
    def isolation(self) -> Isolation:
        network = "host network" if self.policy.allow_network else "network off"
        enforced = ("filesystem", network, "clean environment", "private /tmp", "no host Unix sockets")
        limits, gaps = bubblewrap_limits(self.policy, self.support)
        if self.policy.allow_network:
            gaps = (*gaps, "abstract Unix sockets of the host (they share the network namespace)")
        return Isolation("bubblewrap", (*enforced, *limits), gaps)

    def prepare(self, spec: LaunchSpec) -> LaunchSpec:
        runtime = find_runtime(spec.command, spec.env)
        policy = self.policy
        if policy.data_dir is not None:
            policy.data_dir.mkdir(parents=True, exist_ok=True)
        env = sandbox_env(spec.env, runtime, home=str(policy.data_dir or "/tmp"))
        inner = [*limit_command(policy, self.support), runtime.command, *spec.args]
        args = [*self.bwrap_args(runtime, env, cwd=spec.cwd), "--", *inner]
        return LaunchSpec(command=self.bwrap, args=tuple(args), env=env, cwd=spec.cwd)

    def bwrap_args(self, runtime: Runtime, env: Mapping[str, str], *, cwd: str | None) -> list[str]:
        """Everything before ``--``: namespaces, environment, then the mounts."""
        policy = self.policy
        args = ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
        if policy.allow_network:
            args.append("--share-net")
        for name in sorted(INHERITED_NAMES.union(os.environ).difference(env)):
            args += ["--unsetenv", name]
        mounts: list[tuple[Path, list[str]]] = []
        for path in SYSTEM_DIRS:
            if path.is_symlink():
                mounts.append((path, ["--symlink", os.readlink(path), str(path)]))
            elif path.is_dir():
                mounts.append((path, ["--ro-bind", str(path), str(path)]))
        mounts += [(path, ["--ro-bind-try", str(path), str(path)]) for path in ETC_FILES]
        mounts += [(Path("/proc"), ["--proc", "/proc"]), (Path("/dev"), ["--dev", "/dev"])]
        mounts.append((Path("/tmp"), ["--tmpfs", "/tmp"]))
        granted: list[Path] = []
        for option, paths in (
            ("--ro-bind-try", (*runtime.paths, *policy.readable_paths)),
            ("--bind-try", policy.writable_paths),
        ):
            for path in map(Path.absolute, paths):
                granted.append(path)
                mounts.append((path, [option, str(path), str(path)]))
        # A mount hides what is under it: mount parents first (stable, so later grants win).
        for _, mount in sorted(mounts, key=lambda item: len(item[0].parts)):
            args += mount
        return [*args, "--chdir", self._workdir(cwd, granted)]

    def _workdir(self, cwd: str | None, granted: list[Path]) -> str:
        """``cwd`` when the sandbox has it, else the data dir: bwrap refuses a missing one."""
        if cwd and (
            is_system_path(Path(cwd)) or any(root in (Path(cwd), *Path(cwd).parents) for root in granted)
        ):
            return cwd
        return str(self.policy.data_dir) if self.policy.data_dir is not None else "/"


def sandbox_env(spec_env: Mapping[str, str], runtime: Runtime, *, home: str) -> dict[str, str]:
    """The whole environment inside: essentials, the spec's env, and HOME set to ``home``."""
    env = {"PATH": runtime.search_path, "LANG": "C.UTF-8", "TMPDIR": "/tmp"}
    env.update(spec_env)
    env["HOME"] = home
    return env
