"""Pick the strongest launcher this machine supports for one extension's policy.

bubblewrap on Linux when it works here, else Landlock (filesystem only), ``sandbox-exec``
on macOS, and otherwise a plain launch whose ``isolation`` says plainly that it is off.
The fallback is logged as a warning once per launcher; nothing is started here.
"""

from __future__ import annotations

import logging

from tether.sandbox.bubblewrap import BubblewrapLauncher
from tether.sandbox.host import HostSupport, probe_host
from tether.sandbox.landlock_launcher import LandlockLauncher
from tether.sandbox.launch import IsolatingLauncher, PlainLauncher
from tether.sandbox.policy import SandboxPolicy
from tether.sandbox.seatbelt import SandboxExecLauncher

logger = logging.getLogger(__name__)


def best_launcher(policy: SandboxPolicy, *, support: HostSupport | None = None) -> IsolatingLauncher:
    """The launcher for ``policy``: read ``.isolation`` on it to show how far it contains."""
    support = support or probe_host()
    mechanism = support.mechanism
    if mechanism == "bubblewrap":
        return BubblewrapLauncher(policy, support=support)
    if mechanism == "landlock":
        logger.warning("bubblewrap is not usable here: local extensions get Landlock file rules only")
        return LandlockLauncher(policy, support=support)
    if mechanism == "sandbox-exec" and support.sandbox_exec is not None:
        return SandboxExecLauncher(policy, sandbox_exec=support.sandbox_exec)
    logger.warning("local extensions run unsandboxed: %s", support.missing)
    return PlainLauncher(support.missing)
