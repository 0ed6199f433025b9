"""What to run for a local server, and the launcher that decides how it runs.

``PlainLauncher`` runs the command unchanged, with no isolation; the sandboxing launchers
(bubblewrap, Landlock, sandbox-exec) wrap the same ``LaunchSpec``. Launchers only rewrite
the spec: they never spawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from tether.sandbox.host import probe_host
from tether.sandbox.policy import Isolation, unsandboxed


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


class IsolatingLauncher(Launcher, Protocol):
    """A launcher that can say how far what it runs is contained (shown per extension)."""

    @property
    def isolation(self) -> Isolation: ...


class PlainLauncher:
    """Runs the command as it is: the server gets the same rights as the user running tether."""

    def __init__(self, reason: str = "no sandbox was asked for") -> None:
        self.reason = reason

    @property
    def isolation(self) -> Isolation:
        return unsandboxed(self.reason)

    def prepare(self, spec: LaunchSpec) -> LaunchSpec:
        return spec


def describe_isolation() -> str:
    """One sentence for people: how local servers are isolated on this machine."""
    return probe_host().describe()
