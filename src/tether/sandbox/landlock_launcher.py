"""Linux without bubblewrap: restrict an extension's file access with Landlock, a second line.

The command runs behind ``landlock_shim.py`` (tether's own interpreter), which grants read
on the system dirs, runtime, bundle and read grants, write on the data dir and write grants,
sets the memory limit and clears the environment, then execs. Landlock has no namespaces:
network, host Unix sockets and a private /tmp are not enforced (TMPDIR is the data dir's).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tether.sandbox.bubblewrap import sandbox_env
from tether.sandbox.host import HostSupport, probe_host
from tether.sandbox.launch import LaunchSpec
from tether.sandbox.limits import limits_isolation
from tether.sandbox.policy import Isolation, SandboxPolicy
from tether.sandbox.runtime import ETC_FILES, SYSTEM_DIRS, find_runtime

SHIM = Path(__file__).with_name("landlock_shim.py")
DEVICES_READ = ("/dev/zero", "/dev/random", "/dev/urandom", "/dev/full")
PROC_READ = (
    "/proc/self",  # resolved by the shim to its own pid, which the exec'd server keeps
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/loadavg",
    "/proc/uptime",
    "/proc/sys/kernel/random",
)
"""Not all of /proc: Landlock does not stop reading another process's /proc/PID/environ."""
DEVICES_WRITE = ("/dev/null",)


class LandlockLauncher:
    """Runs the command behind the Landlock shim with the grants of ``policy``."""

    def __init__(
        self, policy: SandboxPolicy, *, support: HostSupport | None = None, python: str = sys.executable
    ) -> None:
        self.policy = policy
        self.support = support or probe_host()
        self.python = python
        """Runs the shim: it must be able to import ``landlock`` (tether's own interpreter can)."""

    @property
    def isolation(self) -> Isolation:
        limits, gaps = limits_isolation(self.policy, is_root=self.support.is_root, has_user_namespace=False)
        enforced = ("filesystem", "clean environment", *limits)
        return Isolation("landlock", enforced, ("network", "host Unix sockets", "private /tmp", *gaps))

    def prepare(self, spec: LaunchSpec) -> LaunchSpec:
        policy = self.policy
        runtime = find_runtime(spec.command, spec.env)
        home = policy.data_dir
        if home is not None:
            (home / "tmp").mkdir(parents=True, exist_ok=True)
        env = sandbox_env(spec.env, runtime, home=str(home or "/nonexistent"))
        env["TMPDIR"] = str(home / "tmp") if home is not None else "/nonexistent"
        read = [*SYSTEM_DIRS, *ETC_FILES, *PROC_READ, *DEVICES_READ, *runtime.paths, *policy.readable_paths]
        config = {
            "read": [str(Path(path).absolute()) for path in read],
            "write": [*DEVICES_WRITE, *(str(path.absolute()) for path in policy.writable_paths)],
            "memory_limit_bytes": policy.memory_limit_bytes,
            "keep_env": sorted(env),
        }
        args = ("-I", str(SHIM), json.dumps(config), "--", runtime.command, *spec.args)
        return LaunchSpec(command=self.python, args=args, env=env, cwd=spec.cwd)
