"""What this machine offers for containing a process: bubblewrap, Landlock, sandbox-exec, prlimit.

``probe_host`` looks once per process (cached): it runs ``bwrap`` one time to see that user
namespaces work here (present is not enough: some distributions forbid them), asks the
kernel for its Landlock ABI, and notes whether tether runs as root. It starts no extension.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

from tether.sandbox.policy import Mechanism

_PROBE_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class HostSupport:
    """The sandboxing tools usable here. A ``None`` path or a 0 ABI means not available."""

    platform: str
    bwrap: str | None = None
    bwrap_problem: str = ""
    """Why an installed ``bwrap`` cannot be used here, if it cannot."""
    prlimit: str | None = None
    landlock_abi: int = 0
    sandbox_exec: str | None = None
    is_root: bool = False

    @property
    def mechanism(self) -> Mechanism:
        """The strongest containment available: what ``best_launcher`` uses."""
        if self.platform.startswith("linux"):
            if self.bwrap is not None:
                return "bubblewrap"
            if self.landlock_abi > 0:
                return "landlock"
        elif self.platform == "darwin" and self.sandbox_exec is not None:
            return "sandbox-exec"
        return "off"

    @property
    def missing(self) -> str:
        """Why there is no sandbox, in words (empty when there is one)."""
        if self.mechanism != "off":
            return ""
        if self.platform.startswith("linux"):
            bwrap = self.bwrap_problem or "bubblewrap (bwrap) is not installed"
            return f"{bwrap} and the kernel has no Landlock"
        if self.platform == "darwin":
            return "sandbox-exec is not available"
        return f"tether has no sandbox for {self.platform}"

    def describe(self) -> str:
        """One sentence for ``tether doctor``: which protection local extensions get."""
        mechanism = self.mechanism
        if mechanism == "bubblewrap":
            text = (
                f"bubblewrap ({self.bwrap}): each local extension sees only the system dirs, its bundle "
                "and the paths granted to it, writes only to its data dir, has no network unless "
                "allowed, a clean environment and a private /tmp"
            )
            if self.prlimit is None:
                return text + "; memory and process limits are off (prlimit not found)"
            if self.is_root:
                return text + "; memory limits apply, process limits do not (tether runs as root)"
            return text + "; memory and process limits apply"
        if mechanism == "landlock":
            return (
                f"landlock (ABI {self.landlock_abi}): filesystem only, local extensions still reach "
                "the network and the host's Unix sockets; install bubblewrap for full isolation"
            )
        if mechanism == "sandbox-exec":
            return "sandbox-exec: filesystem and network rules per extension; no resource limits"
        return (
            f"isolation is off: {self.missing}; local extensions run as ordinary processes with "
            "your user's permissions (files, network, other programs)"
        )


@functools.cache
def probe_host() -> HostSupport:
    """What this machine offers, looked up once per process."""
    platform = sys.platform
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if platform.startswith("linux"):
        bwrap, problem = _working_bwrap()
        return HostSupport(
            platform,
            bwrap=bwrap,
            bwrap_problem=problem,
            prlimit=shutil.which("prlimit"),
            landlock_abi=landlock_abi(),
            is_root=is_root,
        )
    if platform == "darwin":
        return HostSupport(platform, sandbox_exec=shutil.which("sandbox-exec"), is_root=is_root)
    return HostSupport(platform, is_root=is_root)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version through the ``landlock`` package; 0 when unavailable."""
    try:
        from landlock import landlock_abi_version
    except ImportError:
        return 0
    try:
        return int(landlock_abi_version())
    except OSError:
        return 0


def _working_bwrap() -> tuple[str | None, str]:
    found = shutil.which("bwrap")
    if found is None:
        return None, ""
    try:
        done = subprocess.run(
            [found, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--", "true"],
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"bubblewrap ({found}) does not run: {error}"
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[0]
        return None, f"bubblewrap ({found}) cannot create a sandbox here ({detail})"
    return found, ""
