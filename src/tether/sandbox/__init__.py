"""How a local server process is launched: the one seam between tether and the OS sandbox.

Sources describe what to run as a ``LaunchSpec``; a ``Launcher`` turns it into what is
actually run, contained as far as the OS allows (``best_launcher``), and says how far
(``.isolation``). This package starts no extension and imports none of tether's I/O layers.
"""

from tether.sandbox.bubblewrap import BubblewrapLauncher
from tether.sandbox.choose import best_launcher
from tether.sandbox.host import HostSupport, probe_host
from tether.sandbox.landlock_launcher import LandlockLauncher
from tether.sandbox.launch import IsolatingLauncher, Launcher, LaunchSpec, PlainLauncher, describe_isolation
from tether.sandbox.policy import (
    DEFAULT_MAX_PROCESSES,
    DEFAULT_MEMORY_LIMIT_BYTES,
    Isolation,
    Mechanism,
    SandboxPolicy,
)
from tether.sandbox.seatbelt import SandboxExecLauncher, seatbelt_profile

__all__ = [
    "DEFAULT_MAX_PROCESSES",
    "DEFAULT_MEMORY_LIMIT_BYTES",
    "BubblewrapLauncher",
    "HostSupport",
    "IsolatingLauncher",
    "Isolation",
    "LandlockLauncher",
    "LaunchSpec",
    "Launcher",
    "Mechanism",
    "PlainLauncher",
    "SandboxExecLauncher",
    "SandboxPolicy",
    "best_launcher",
    "describe_isolation",
    "probe_host",
    "seatbelt_profile",
]
