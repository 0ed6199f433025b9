"""Move to the trash, never delete.

Linux and other freedesktop systems: the home trash (``$XDG_DATA_HOME/Trash`` with a
``.trashinfo`` per file, as the Trash spec says), when the file is on the same disk.
macOS and Windows: the system trash through ``send2trash``. Otherwise, or when those
fail, a Trash folder of the same layout in the extension's data dir.
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from .models import Trashed


class Trash:
    def __init__(self, data_dir: Path) -> None:
        self.own = data_dir / "Trash"

    def put(self, entry: Path) -> Trashed:
        """Move ``entry`` (a file, folder or symlink) to a trash and say which and where."""
        if sys.platform in ("darwin", "win32"):
            try:
                from send2trash import send2trash  # pyright: ignore[reportMissingTypeStubs]

                send2trash(str(entry))
                return Trashed(path=str(entry), trash="system", location="the system trash")
            except OSError:
                pass
        else:
            home_trash = _home_trash()
            if home_trash is not None:
                try:
                    location = _freedesktop_put(entry, home_trash, same_disk_only=True)
                    return Trashed(path=str(entry), trash="system", location=str(location))
                except OSError:
                    pass
        location = _freedesktop_put(entry, self.own, same_disk_only=False)
        return Trashed(path=str(entry), trash="extension", location=str(location))


def _home_trash() -> Path | None:
    base = os.environ.get("XDG_DATA_HOME") or (
        os.path.join(os.environ["HOME"], ".local", "share") if os.environ.get("HOME") else ""
    )
    return Path(base) / "Trash" if os.path.isabs(base) else None


def _freedesktop_put(entry: Path, trash: Path, *, same_disk_only: bool) -> Path:
    files, info = trash / "files", trash / "info"
    files.mkdir(parents=True, exist_ok=True, mode=0o700)
    info.mkdir(parents=True, exist_ok=True, mode=0o700)
    if same_disk_only and os.lstat(entry).st_dev != os.stat(files).st_dev:
        raise OSError(f"'{entry}' is on another disk than {trash}")
    name, info_file = _reserve(entry, info)
    try:
        destination = files / name
        if same_disk_only:
            os.rename(entry, destination)
        else:
            shutil.move(entry, destination)
    except OSError:
        info_file.unlink()  # our own bookkeeping file: the entry was not moved
        raise
    return destination


def _reserve(entry: Path, info: Path) -> tuple[str, Path]:
    """A free name in the trash, claimed by creating its .trashinfo exclusively."""
    stem, suffix = (entry.stem, entry.suffix) if entry.suffix else (entry.name, "")
    deleted = datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    body = f"[Trash Info]\nPath={quote(str(entry))}\nDeletionDate={deleted}\n"
    for number in range(1, 10_000):
        name = entry.name if number == 1 else f"{stem}.{number}{suffix}"
        info_file = info / f"{name}.trashinfo"
        try:
            with info_file.open("x", encoding="utf-8") as handle:
                handle.write(body)
        except FileExistsError:
            continue
        if not os.path.lexists(info.parent / "files" / name):
            return name, info_file
        info_file.unlink()
    raise OSError(f"no free name for '{entry.name}' in {info.parent}")
