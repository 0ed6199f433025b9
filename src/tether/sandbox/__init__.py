"""How a local server process is launched: the one seam between tether and the OS sandbox.

Sources describe what to run as a ``LaunchSpec``; a ``Launcher`` turns it into what is
actually run. This package must not start processes itself or import tether's I/O layers.
"""

from tether.sandbox.launch import Launcher, LaunchSpec, PlainLauncher, describe_isolation

__all__ = ["LaunchSpec", "Launcher", "PlainLauncher", "describe_isolation"]
