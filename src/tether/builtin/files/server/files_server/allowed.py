"""The allowed directories and the one check every path goes through.

A path must be absolute and free of ``..``; it is then resolved (symlinks included) and
must land inside an allowed directory. "Entry" checks (move, rename, trash) act on a
symlink itself, but refuse one that points outside.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from .problems import BAD_PATH, NOT_FOUND, OUTSIDE_ALLOWED, Refused


@dataclass(frozen=True, slots=True)
class AllowedDir:
    configured: str
    resolved: Path | None
    """None when the configured path is not an existing directory."""


class AllowedDirs:
    def __init__(self, configured: Sequence[str]) -> None:
        dirs: list[AllowedDir] = []
        for raw in configured:
            real = Path(os.path.realpath(raw)) if os.path.isabs(raw) else None
            dirs.append(AllowedDir(raw, real if real is not None and real.is_dir() else None))
        self.dirs = tuple(dirs)
        self.roots = tuple(d.resolved for d in self.dirs if d.resolved is not None)

    def summary(self) -> str:
        return ", ".join(str(root) for root in self.roots) or "none (check the extension's settings)"

    def contains(self, real: Path) -> bool:
        return any(_is_under(real, root) for root in self.roots)

    def resolve(self, raw: str, *, must_exist: bool = True) -> Path:
        """The real path ``raw`` names (symlinks followed), inside an allowed directory."""
        given = self._checked_syntax(raw)
        real = Path(os.path.realpath(given))
        if not self.contains(real):
            raise self._outside(raw, real, given)
        if must_exist and not os.path.lexists(real):
            raise Refused(NOT_FOUND, f"'{raw}' does not exist")
        return real

    def resolve_entry(self, raw: str) -> Path:
        """The directory entry ``raw`` names (a symlink stays a symlink), which must exist.

        Its parent must resolve inside an allowed directory, and so must a symlink's target.
        An allowed directory itself is not an entry anyone may move.
        """
        given = self._checked_syntax(raw)
        parent = Path(os.path.realpath(given.parent))
        entry = parent / given.name
        if not self.contains(parent) or entry in self.roots:
            raise self._outside(raw, entry, given)
        if not os.path.lexists(entry):
            raise Refused(NOT_FOUND, f"'{raw}' does not exist")
        if entry.is_symlink() and not self.contains(Path(os.path.realpath(entry))):
            raise Refused(OUTSIDE_ALLOWED, f"'{raw}' is a symlink to a place outside the allowed directories")
        return entry

    def _checked_syntax(self, raw: str) -> Path:
        if not raw or "\0" in raw:
            raise Refused(BAD_PATH, "a path is required")
        if not os.path.isabs(raw):
            raise Refused(BAD_PATH, f"'{raw}' is not absolute: use a full path inside {self.summary()}")
        if ".." in PurePath(raw).parts:
            raise Refused(BAD_PATH, f"'{raw}' contains '..': name the path directly")
        return Path(raw)

    def _outside(self, raw: str, real: Path, given: Path) -> Refused:
        via = " (through a symlink)" if real != given else ""
        return Refused(OUTSIDE_ALLOWED, f"'{raw}' is outside the allowed directories{via}: {self.summary()}")


def _is_under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
