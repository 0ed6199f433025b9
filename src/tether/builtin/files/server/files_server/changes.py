"""Changes to the user's files: write, move, rename, make a directory.

Nothing is overwritten: a move or rename onto an existing name is refused, and a write
over an existing file happens only when asked, after the old file went to the trash.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from .allowed import AllowedDirs
from .models import Moved, Written
from .problems import BAD_PATH, EXISTS, NOT_A_DIRECTORY, NOT_A_FILE, NOT_FOUND, Refused, os_refusal
from .trash import Trash


class Clash(Exception):
    """The destination exists already."""


def move_no_clobber(source: Path, destination: Path) -> None:
    """Move ``source`` to ``destination``, never replacing what is there (raises Clash).

    A regular file is hard-linked then unlinked, which fails atomically on a clash; other
    entries, and file systems without hard links, are checked then renamed.
    """
    if os.path.lexists(destination):
        raise Clash(str(destination))
    if source.is_file() and not source.is_symlink():
        try:
            os.link(source, destination, follow_symlinks=False)
        except FileExistsError:
            raise Clash(str(destination)) from None
        except OSError:
            pass  # no hard links here (other device, FAT, ...): fall through
        else:
            os.unlink(source)
            return
    try:
        os.rename(source, destination)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        shutil.move(source, destination)


def write_file(allowed: AllowedDirs, trash: Trash, path: str, content: str, *, overwrite: bool) -> Written:
    target = allowed.resolve(path, must_exist=False)
    if not target.parent.is_dir():
        raise Refused(NOT_FOUND, f"the folder of '{path}' does not exist: make it with make_directory")
    previous: str | None = None
    if os.path.lexists(target):
        if not overwrite:
            raise Refused(
                EXISTS, f"'{path}' exists: pass overwrite=true to replace it (the old one goes to the trash)"
            )
        if not target.is_file():
            raise Refused(NOT_A_FILE, f"'{path}' is not a file")
        previous = trash.put(target).location
    data = content.encode("utf-8")
    try:
        with target.open("xb") as handle:  # "x": never replaces a file that appeared meanwhile
            handle.write(data)
    except FileExistsError:
        raise Refused(EXISTS, f"'{path}' appeared while writing; nothing was replaced") from None
    except OSError as error:
        raise os_refusal(error, f"write '{path}'") from None
    return Written(path=str(target), size_bytes=len(data), previous_in_trash=previous)


def move_file(allowed: AllowedDirs, source: str, destination: str) -> Moved:
    entry = allowed.resolve_entry(source)
    target = allowed.resolve(destination, must_exist=False)
    if target.is_dir() and not os.path.samefile(target, entry.parent):
        target = target / entry.name  # into an existing folder, like `mv`
    elif target.is_dir():
        raise Refused(EXISTS, f"'{entry.name}' is in '{destination}' already")
    return _move(entry, target, destination)


def rename_file(allowed: AllowedDirs, path: str, new_name: str) -> Moved:
    if not new_name or new_name in (".", "..") or "/" in new_name or "\\" in new_name or "\0" in new_name:
        raise Refused(BAD_PATH, f"'{new_name}' is not a file name: give a name without folders")
    entry = allowed.resolve_entry(path)
    return _move(entry, entry.parent / new_name, new_name)


def make_directory(allowed: AllowedDirs, path: str) -> str:
    target = allowed.resolve(path, must_exist=False)
    if os.path.lexists(target) and not target.is_dir():
        raise Refused(NOT_A_DIRECTORY, f"'{path}' exists and is not a directory")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise os_refusal(error, f"make '{path}'") from None
    return str(target)


def _move(entry: Path, target: Path, shown: str) -> Moved:
    if not target.parent.is_dir():
        raise Refused(NOT_FOUND, f"the folder for '{shown}' does not exist: make it with make_directory")
    if entry.is_dir() and (target == entry or entry in target.parents):
        raise Refused(BAD_PATH, f"cannot move '{entry}' into itself")
    try:
        move_no_clobber(entry, target)
    except Clash:
        raise Refused(EXISTS, f"'{target}' exists already; nothing was moved or replaced") from None
    except OSError as error:
        raise os_refusal(error, f"move '{entry}' to '{target}'") from None
    return Moved(source=str(entry), destination=str(target))
