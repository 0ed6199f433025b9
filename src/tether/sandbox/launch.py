"""What to run for a local server, and the launcher that decides how it runs.

``PlainLauncher`` runs the command unchanged, with no isolation; a bubblewrap launcher
will wrap the same ``LaunchSpec`` later. Launchers only rewrite the spec: they never spawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    """A process to start: program, arguments, extra environment, working directory."""

    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict[str, str])
    cwd: str | None = None


class Launcher(Protocol):
    """Turns what a source wants to run into what is run (for instance inside a sandbox)."""

    def prepare(self, spec: LaunchSpec) -> LaunchSpec: ...


class PlainLauncher:
    """Runs the command as it is: the server gets the same rights as the user running tether."""

    def prepare(self, spec: LaunchSpec) -> LaunchSpec:
        return spec


def describe_isolation() -> str:
    """One sentence for people: how local servers are isolated on this machine."""
    return (
        "isolation is off: local extensions run as ordinary processes with your user's "
        "permissions (files, network, other programs)"
    )
