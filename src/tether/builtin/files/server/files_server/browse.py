"""Read-only looks at the allowed directories: list, search, read text, file info.

Every walk and read is bounded (entries, files scanned, bytes), and nothing follows a
symlink out of the allowed directories.
"""

from __future__ import annotations

import fnmatch
import mimetypes
import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from .allowed import AllowedDirs
from .models import DirectoryListing, Entry, FileInfo, Kind, SearchMatch, SearchResult, TextFile
from .problems import NOT_A_DIRECTORY, NOT_A_FILE, NOT_TEXT, Refused, os_refusal

_SNIFF_BYTES = 8192
_CONTENT_SEARCH_MAX_BYTES = 2_000_000


def iso_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def kind_of(mode: int) -> Kind:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "directory"
    return "file" if stat.S_ISREG(mode) else "other"


def list_directory(
    allowed: AllowedDirs, path: str, *, include_hidden: bool, max_entries: int
) -> DirectoryListing:
    directory = allowed.resolve(path)
    if not directory.is_dir():
        raise Refused(NOT_A_DIRECTORY, f"'{path}' is not a directory")
    entries: list[Entry] = []
    total = 0
    try:
        with os.scandir(directory) as scan:
            names = sorted(
                (e for e in scan if include_hidden or not e.name.startswith(".")),
                key=lambda e: e.name.lower(),
            )
    except OSError as error:
        raise os_refusal(error, f"list '{path}'") from None
    for item in names:
        total += 1
        if len(entries) >= max_entries:
            continue
        try:
            info = item.stat(follow_symlinks=False)
        except OSError:
            continue
        kind = kind_of(info.st_mode)
        entries.append(
            Entry(
                name=item.name,
                path=str(directory / item.name),
                kind=kind,
                size_bytes=info.st_size if kind == "file" else None,
                modified=iso_time(info.st_mtime),
            )
        )
    return DirectoryListing(
        path=str(directory), entries=entries, total_entries=total, truncated=total > len(entries)
    )


def search_files(
    allowed: AllowedDirs,
    directory: str,
    *,
    name: str | None,
    content: str | None,
    max_results: int,
    max_files: int,
) -> SearchResult:
    """Files under ``directory`` whose name matches ``name`` (a glob, or a substring) and/or
    whose text contains ``content`` (case-insensitive); hidden entries and symlinks skipped."""
    root = allowed.resolve(directory)
    if not root.is_dir():
        raise Refused(NOT_A_DIRECTORY, f"'{directory}' is not a directory")
    name_test = _name_test(name) if name else None
    needle = content.lower() if content else None
    matches: list[SearchMatch] = []
    scanned = 0
    is_cut = False
    for current, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            if filename.startswith("."):
                continue
            if scanned >= max_files or len(matches) >= max_results:
                is_cut = True
                break
            scanned += 1
            path = Path(current) / filename
            if path.is_symlink():
                continue
            if name_test is not None and not name_test(filename):
                continue
            if needle is None:
                matches.append(SearchMatch(path=str(path), matched="name"))
                continue
            found = _find_in_text(path, needle)
            if found is not None:
                line, snippet = found
                matches.append(SearchMatch(path=str(path), matched="content", line=line, snippet=snippet))
        if is_cut:
            break
    return SearchResult(directory=str(root), matches=matches, files_scanned=scanned, truncated=is_cut)


def _name_test(pattern: str) -> Callable[[str], bool]:
    lowered = pattern.lower()
    if any(c in pattern for c in "*?["):
        return lambda filename: fnmatch.fnmatch(filename.lower(), lowered)
    return lambda filename: lowered in filename.lower()


def _find_in_text(path: Path, needle: str) -> tuple[int, str] | None:
    try:
        if path.stat().st_size > _CONTENT_SEARCH_MAX_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:_SNIFF_BYTES]:
        return None
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
        if needle in line.lower():
            return number, line.strip()[:200]
    return None


def read_text_file(allowed: AllowedDirs, path: str, *, offset: int, max_bytes: int) -> tuple[TextFile, str]:
    """What was read, and the text (UTF-8, undecodable bytes replaced)."""
    real = allowed.resolve(path)
    if not real.is_file():
        raise Refused(NOT_A_FILE, f"'{path}' is not a file")
    try:
        with real.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(_SNIFF_BYTES)
            if b"\0" in head:
                hint = " (a PDF: use read_pdf_text)" if head.startswith(b"%PDF") else ""
                raise Refused(NOT_TEXT, f"'{path}' is not a text file{hint}")
            handle.seek(offset)
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise os_refusal(error, f"read '{path}'") from None
    is_cut = len(data) > max_bytes
    data = data[:max_bytes]
    if is_cut:
        data = _whole_characters(data)
    end = offset + len(data)
    read = TextFile(
        path=str(real),
        offset=offset,
        bytes_read=len(data),
        size_bytes=size,
        next_offset=end if end < size else None,
    )
    return read, data.decode("utf-8", errors="replace")


def _whole_characters(data: bytes) -> bytes:
    """Drop a UTF-8 sequence cut in half at the end, so the next read starts on a character."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return data
        if byte >= 0xC0:  # a lead byte: keep it only if its sequence is complete
            needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data if back >= needed else data[:-back]
    return data


def file_info(allowed: AllowedDirs, path: str, page_count: int | None) -> FileInfo:
    entry = allowed.resolve_entry(path)
    try:
        info = entry.lstat()
        target = entry.resolve() if entry.is_symlink() else entry
        followed = target.stat()
    except OSError as error:
        raise os_refusal(error, f"read the details of '{path}'") from None
    mime, _ = mimetypes.guess_type(target.name)
    return FileInfo(
        path=str(entry),
        kind=kind_of(followed.st_mode),
        size_bytes=followed.st_size,
        modified=iso_time(followed.st_mtime),
        mime_type=mime,
        is_symlink=stat.S_ISLNK(info.st_mode),
        link_target=str(target) if target != entry else None,
        page_count=page_count,
    )
