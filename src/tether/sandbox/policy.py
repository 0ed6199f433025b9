"""What one local extension may reach (``SandboxPolicy``) and how far a launch contains it.

Plain data: the installer fills a policy from the bundle, its settings and the user's
grants; launchers read it. ``Isolation`` is what the UI, ``doctor`` and activity show.
Nothing here touches the file system.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DEFAULT_MEMORY_LIMIT_BYTES = 4 * 1024**3
"""Private writable memory (RLIMIT_DATA) per extension process: ample for an MCP server."""

DEFAULT_MAX_PROCESSES = 256
"""Processes and threads (RLIMIT_NPROC) inside one sandbox: bounds a fork bomb."""

Mechanism = Literal["bubblewrap", "landlock", "sandbox-exec", "off"]


@dataclass(frozen=True, slots=True)
class SandboxPolicy:
    """The grants of one extension. Paths are absolute; missing ones are skipped at launch.

    - ``bundle_dir``: the unpacked bundle, read-only (its code and bundled libraries).
    - ``data_dir``: the one writable dir the extension owns; it is also its ``HOME``.
    - ``read_only_paths`` / ``read_write_paths``: dirs and files from its ``directory`` and
      ``file`` settings (read-only unless the manifest or the user asked for write).
    - ``extra_paths``: more paths the user granted in the extension's "extra paths" setting,
      read-only (put a path in ``read_write_paths`` to let it write there).
    - ``allow_network``: the extension's "allow network" setting; off means no network at all.
    - ``memory_limit_bytes`` / ``max_processes``: rlimits; ``None`` means no limit.

    The runtime the command needs (a Python venv and its base interpreter, a node install)
    is granted read-only by the launcher from the command itself: see ``runtime.py``.
    """

    bundle_dir: Path | None = None
    data_dir: Path | None = None
    read_only_paths: tuple[Path, ...] = ()
    read_write_paths: tuple[Path, ...] = ()
    extra_paths: tuple[Path, ...] = ()
    allow_network: bool = False
    memory_limit_bytes: int | None = DEFAULT_MEMORY_LIMIT_BYTES
    max_processes: int | None = DEFAULT_MAX_PROCESSES

    @property
    def readable_paths(self) -> tuple[Path, ...]:
        """Every granted path the extension may read but not write."""
        bundle = (self.bundle_dir,) if self.bundle_dir is not None else ()
        return (*bundle, *self.read_only_paths, *self.extra_paths)

    @property
    def writable_paths(self) -> tuple[Path, ...]:
        """Every granted path the extension may write: its data dir first."""
        data = (self.data_dir,) if self.data_dir is not None else ()
        return (*data, *self.read_write_paths)


@dataclass(frozen=True, slots=True)
class Isolation:
    """How far a launch is contained: the mechanism, what it enforces, and what it does not.

    ``str()`` gives the one line people see, e.g. ``bubblewrap: filesystem, network off,
    clean environment, private /tmp, memory 4 GiB, 256 processes``.
    """

    mechanism: Mechanism
    enforced: tuple[str, ...] = ()
    not_enforced: tuple[str, ...] = ()

    @property
    def is_sandboxed(self) -> bool:
        return self.mechanism != "off"

    def __str__(self) -> str:
        if not self.enforced:
            return f"{self.mechanism}: {'; '.join(self.not_enforced)}"
        text = f"{self.mechanism}: {', '.join(self.enforced)}"
        return f"{text}; not enforced: {', '.join(self.not_enforced)}" if self.not_enforced else text


def unsandboxed(reason: str) -> Isolation:
    """The isolation of a launch that runs with the user's own rights."""
    return Isolation("off", (), (f"{reason}; the extension runs with your user's permissions",))


def limit_words(policy: SandboxPolicy) -> tuple[str, ...]:
    """The rlimits of ``policy`` in words, e.g. ``("memory 4 GiB", "256 processes")``."""
    words: list[str] = []
    if policy.memory_limit_bytes is not None:
        words.append(f"memory {format_bytes(policy.memory_limit_bytes)}")
    if policy.max_processes is not None:
        words.append(f"{policy.max_processes} processes")
    return tuple(words)


def format_bytes(size_bytes: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size_bytes >= scale:
            return f"{size_bytes / scale:g} {unit}"
    return f"{size_bytes} B"
