"""macOS: run an extension under ``sandbox-exec`` with a profile generated from its policy.

The profile denies by default, then allows reading the system and runtime, reading the
bundle and read grants, reading and writing the data dir and write grants, and IP network
only when allowed (never Unix sockets, so no host agents). No resource limits: macOS does
not enforce RLIMIT_DATA. Only rewrites the spec; the profile text is unit-tested on Linux.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from tether.sandbox.bubblewrap import sandbox_env
from tether.sandbox.launch import LaunchSpec
from tether.sandbox.policy import Isolation, SandboxPolicy, limit_words
from tether.sandbox.runtime import find_runtime

SANDBOX_EXEC = "/usr/bin/sandbox-exec"
SYSTEM_READ = (
    "/usr",
    "/bin",
    "/sbin",
    "/System",
    "/Library/Apple",
    "/Library/Frameworks",
    "/private/etc",
    "/private/var/db/timezone",
    "/private/var/db/dyld",
)
DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/dtracehelper")
SYSTEM_SERVICES = (
    "com.apple.system.logger",
    "com.apple.system.notification_center",
    "com.apple.system.opendirectoryd.libinfo",
)
NETWORK_SERVICES = (
    "com.apple.dnssd.service",
    "com.apple.SystemConfiguration.configd",
    "com.apple.trustd.agent",
)


def seatbelt_profile(
    policy: SandboxPolicy,
    runtime_paths: Iterable[Path] = (),
    *,
    realpath: Callable[[str], str] = os.path.realpath,
) -> str:
    """The SBPL profile for ``policy``; paths are resolved (``/tmp`` is ``/private/tmp`` there)."""

    def subpaths(paths: Iterable[Path | str]) -> str:
        return " ".join(f"(subpath {_quote(realpath(str(path)))})" for path in paths)

    lines = [
        "(version 1)",
        "(deny default)",
        "(allow process-fork)",
        "(allow process-exec)",
        "(allow signal (target same-sandbox))",
        "(allow sysctl-read)",
        "(allow file-read-metadata)",
        f"(allow mach-lookup {' '.join(f'(global-name {_quote(name)})' for name in SYSTEM_SERVICES)})",
        f'(allow file-read* (literal "/") {subpaths(SYSTEM_READ)})',
        f"(allow file-read* file-write-data {' '.join(f'(literal {_quote(d)})' for d in DEVICES)})",
    ]
    readable = [*runtime_paths, *policy.readable_paths]
    if readable:
        lines.append(f"(allow file-read* {subpaths(readable)})")
    if policy.writable_paths:
        lines.append(f"(allow file-read* file-write* {subpaths(policy.writable_paths)})")
    if policy.allow_network:
        services = " ".join(f"(global-name {_quote(name)})" for name in NETWORK_SERVICES)
        lines += [
            "(allow system-socket)",
            "(allow network-outbound (remote ip))",
            "(allow network-inbound (local ip))",
            "(allow network-bind (local ip))",
            f"(allow mach-lookup {services})",
        ]
    return "\n".join(lines) + "\n"


class SandboxExecLauncher:
    """Wraps a command in ``sandbox-exec -p PROFILE`` built from ``policy``."""

    def __init__(self, policy: SandboxPolicy, *, sandbox_exec: str = SANDBOX_EXEC) -> None:
        self.policy = policy
        self.sandbox_exec = sandbox_exec

    @property
    def isolation(self) -> Isolation:
        network = "host network" if self.policy.allow_network else "network off"
        limits = ("resource limits",) if limit_words(self.policy) else ()
        return Isolation("sandbox-exec", ("filesystem", network, "no host Unix sockets"), limits)

    def prepare(self, spec: LaunchSpec) -> LaunchSpec:
        policy = self.policy
        runtime = find_runtime(spec.command, spec.env)
        home = policy.data_dir
        if home is not None:
            (home / "tmp").mkdir(parents=True, exist_ok=True)
        env = sandbox_env(spec.env, runtime, home=str(home or "/var/empty"))
        if home is not None:
            env["TMPDIR"] = str(home / "tmp")
        profile = seatbelt_profile(policy, runtime.paths)
        args = ("-p", profile, runtime.command, *spec.args)
        return LaunchSpec(command=self.sandbox_exec, args=args, env=env, cwd=spec.cwd)


def _quote(text: str) -> str:
    """An SBPL string literal (Scheme syntax: backslash and double quote escaped)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
