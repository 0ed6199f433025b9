"""Which folder a file goes to when a directory is organized: by type, by date, by project.

Pure: names and timestamps in, folder names out. "Project" groups files whose names start
with the same word (``acme-budget.xlsx``, ``Acme notes.txt``); a word shared by one file
only is no project, and that file stays where it is.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

TYPE_FOLDERS: dict[str, tuple[str, ...]] = {
    "Documents": ("pdf", "doc", "docx", "odt", "rtf", "txt", "md", "pages", "tex", "epub"),
    "Spreadsheets": ("xls", "xlsx", "ods", "csv", "tsv", "numbers"),
    "Presentations": ("ppt", "pptx", "odp", "key"),
    "Images": ("jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp", "heic", "svg", "raw"),
    "Audio": ("mp3", "wav", "flac", "aac", "ogg", "m4a", "opus"),
    "Video": ("mp4", "mov", "avi", "mkv", "webm", "m4v"),
    "Archives": ("zip", "tar", "gz", "tgz", "bz2", "xz", "7z", "rar", "dmg", "iso"),
    "Code": ("py", "js", "ts", "html", "css", "json", "yaml", "yml", "toml", "sh", "ipynb", "sql"),
    "Contacts and calendars": ("vcf", "ics"),
    "Mail": ("eml", "msg", "mbox"),
}
_FOLDER_OF_SUFFIX = {suffix: folder for folder, suffixes in TYPE_FOLDERS.items() for suffix in suffixes}
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]{2,}")
_NOT_PROJECTS = frozenset(
    {"the", "and", "for", "new", "copy", "final", "draft", "scan", "img", "image", "photo", "screenshot",
     "document", "file", "untitled", "notes", "report", "invoice", "version"}
)  # fmt: skip


def by_type(names: Sequence[str]) -> dict[str, str]:
    return {name: _FOLDER_OF_SUFFIX.get(_suffix(name), "Other") for name in names}


def by_date(modified: dict[str, float]) -> dict[str, str]:
    """``YYYY-MM`` of each file's modification time (UTC)."""
    return {name: datetime.fromtimestamp(ts, UTC).strftime("%Y-%m") for name, ts in modified.items()}


def by_project(names: Sequence[str]) -> dict[str, str]:
    groups: dict[str, list[str]] = defaultdict(list)
    shown: dict[str, str] = {}
    for name in names:
        word = project_word(name)
        if word is not None:
            groups[word.lower()].append(name)
            shown.setdefault(word.lower(), word)
    return {name: shown[key] for key, members in groups.items() if len(members) >= 2 for name in members}


def project_word(name: str) -> str | None:
    """The first word of a file name that can name a project (three or more letters, not generic)."""
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    for match in _WORD.finditer(stem):
        word = match.group(0)
        if word.lower() not in _NOT_PROJECTS and not word.isdigit():
            return word
    return None


def _suffix(name: str) -> str:
    return name.rsplit(".", 1)[1].lower() if "." in name[1:] else ""
