"""Where an installed extension lives on disk, and the lock that serializes changes to it.

    <home>/extensions/<id>/<version>/   the unpacked bundle (read-only for the extension)
    <home>/extensions/<id>/data/        the one writable dir the extension gets
    <home>/extensions/<id>/uv-env/      the virtualenv ``uv run`` builds for a uv server
    <home>/locks/extension-<id>.lock    held while one tether installs, updates or removes it

Knows paths only; deciding what to put there is the installer's job.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

from tether.errors import InstallInProgress

DATA_DIR_ENV = "TETHER_EXTENSION_DATA_DIR"
"""The variable that tells an extension where its writable data dir is."""


@dataclass(frozen=True, slots=True)
class ExtensionPaths:
    home: Path
    extension_id: str

    @property
    def root(self) -> Path:
        return self.home / "extensions" / self.extension_id

    def version_dir(self, version: str) -> Path:
        # A version is semver-like text; keep it one path component whatever the manifest says.
        safe = "".join(c if c.isalnum() or c in ".-+_" else "_" for c in version).lstrip(".") or "_"
        return self.root / safe

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def uv_env(self) -> Path:
        return self.root / "uv-env"

    @property
    def lock_file(self) -> Path:
        return self.home / "locks" / f"extension-{self.extension_id}.lock"

    @contextlib.contextmanager
    def locked(self) -> Generator[None]:
        """Hold this extension's lock, or raise InstallInProgress when another holder has it."""
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_file, "a+b") as handle:
            if not _try_lock(handle.fileno()):
                raise InstallInProgress(
                    f"extension '{self.extension_id}' is being installed, updated or removed "
                    "by another tether right now: wait for it to finish, then try again"
                )
            try:
                yield
            finally:
                _unlock(handle.fileno())


def remove_tree(path: Path) -> None:
    """Delete ``path`` and everything under it; no error when it is absent."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)


if sys.platform == "win32":  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
