"""What the tools return: pydantic models, so every result has an output schema and a
structured form. Paths are absolute strings; times are ISO 8601 in UTC.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Kind = Literal["file", "directory", "symlink", "other"]
Grouping = Literal["project", "type", "date"]
PlanState = Literal["planned", "applied", "partly_applied", "undone"]


class AllowedDirectory(BaseModel):
    configured: str
    resolved: str | None
    exists: bool


class AllowedDirectories(BaseModel):
    directories: list[AllowedDirectory]


class Entry(BaseModel):
    name: str
    path: str
    kind: Kind
    size_bytes: int | None
    modified: str


class DirectoryListing(BaseModel):
    path: str
    entries: list[Entry]
    total_entries: int
    truncated: bool


class SearchMatch(BaseModel):
    path: str
    matched: Literal["name", "content"]
    line: int | None = None
    snippet: str | None = None


class SearchResult(BaseModel):
    directory: str
    matches: list[SearchMatch]
    files_scanned: int
    truncated: bool
    """True when a limit (results, files scanned) stopped the search early."""


class TextFile(BaseModel):
    """What was read; the text itself is the result's text content (sent once, not twice)."""

    path: str
    offset: int
    bytes_read: int
    size_bytes: int
    next_offset: int | None
    """Where to continue reading, or None at the end of the file."""


class PdfText(BaseModel):
    """What was read; the pages' text is the result's text content, each page under a
    ``--- page N ---`` line (sent once, not twice)."""

    path: str
    page_count: int
    pages: list[int]
    """The pages whose text is in the content, in order."""
    chars: int
    pages_without_text: list[int]
    """Pages with no text layer (scans, drawings): their content needs OCR."""
    unreadable_pages: list[int]
    partial_page: int | None
    """A page whose text was cut at the character budget (it is also ``next_page``)."""
    truncated: bool
    next_page: int | None
    """The first page not (fully) returned because of the page or character budget."""


class FileInfo(BaseModel):
    path: str
    kind: Kind
    size_bytes: int
    modified: str
    mime_type: str | None
    is_symlink: bool
    link_target: str | None = None
    page_count: int | None = None


class Written(BaseModel):
    path: str
    size_bytes: int
    previous_in_trash: str | None = None


class Moved(BaseModel):
    source: str
    destination: str


class Trashed(BaseModel):
    path: str
    trash: Literal["system", "extension"]
    """The OS trash, or the extension's own trash folder where the OS has none it can use."""
    location: str


class PlannedMove(BaseModel):
    source: str
    target: str


class SkippedFile(BaseModel):
    source: str
    reason: str


class Plan(BaseModel):
    plan_id: str
    directory: str
    by: Grouping
    moves: list[PlannedMove]
    skipped: list[SkippedFile]
    folders_to_create: list[str]
    truncated: bool


class RefusedMove(BaseModel):
    source: str
    target: str
    reason: Literal[
        "already_applied",
        "not_applied",
        "source_missing",
        "source_changed",
        "target_missing",
        "target_changed",
        "name_clash",
        "outside_allowed",
        "move_failed",
    ]
    detail: str = ""


class PlanOutcome(BaseModel):
    plan_id: str
    state: PlanState
    done: list[PlannedMove]
    refused: list[RefusedMove]
