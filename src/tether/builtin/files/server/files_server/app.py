"""The Files MCP server: its settings from the command line, its tools, and ``main``.

``python server/main.py [--data-dir DIR] [--] ALLOWED_DIR...``; without ``--data-dir`` the
data dir is ``$TETHER_EXTENSION_DATA_DIR``. Tools are thin: the work is in the modules.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from . import browse, changes, pdf
from .allowed import AllowedDirs
from .models import (
    AllowedDirectories,
    AllowedDirectory,
    DirectoryListing,
    FileInfo,
    Grouping,
    Moved,
    PdfText,
    Plan,
    PlanOutcome,
    SearchResult,
    TextFile,
    Trashed,
    Written,
)
from .organize import Organizer
from .problems import NOT_A_FILE, Refused
from .trash import Trash

DATA_DIR_ENV = "TETHER_EXTENSION_DATA_DIR"
_UNSET = re.compile(r"^\$\{user_config\.[^}]+\}$")  # a setting the host left unsubstituted

READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
CHANGE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
DESTROY = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False
)

Path_ = Annotated[str, Field(description="An absolute path inside an allowed directory")]


def build_server(allowed: AllowedDirs, data_dir: Path) -> MCPServer:
    server = MCPServer(
        "files",
        instructions="Your files in the allowed directories. Paths must be absolute; nothing is deleted.",
        log_level="WARNING",
    )
    trash = Trash(data_dir)
    organizer = Organizer(allowed, data_dir)

    @server.tool(annotations=READ)
    def list_allowed_directories() -> AllowedDirectories:
        """The directories this extension may use, and whether each exists."""
        return AllowedDirectories(
            directories=[
                AllowedDirectory(
                    configured=d.configured,
                    resolved=str(d.resolved) if d.resolved else None,
                    exists=d.resolved is not None,
                )
                for d in allowed.dirs
            ]
        )

    @server.tool(annotations=READ)
    def list_directory(
        path: Path_,
        include_hidden: bool = False,
        max_entries: Annotated[int, Field(ge=1, le=5000)] = 500,
    ) -> DirectoryListing:
        """List a directory: name, kind, size and modification time of each entry."""
        return browse.list_directory(allowed, path, include_hidden=include_hidden, max_entries=max_entries)

    @server.tool(annotations=READ)
    def search_files(
        directory: Path_,
        name: Annotated[str | None, Field(description="A glob (*.pdf) or part of the file name")] = None,
        content: Annotated[str | None, Field(description="Text the file contains (any case)")] = None,
        max_results: Annotated[int, Field(ge=1, le=1000)] = 50,
        max_files: Annotated[int, Field(ge=1, le=100_000)] = 5000,
    ) -> SearchResult:
        """Find files under a directory by name and/or by the text they contain (text files only)."""
        return browse.search_files(
            allowed, directory, name=name, content=content, max_results=max_results, max_files=max_files
        )

    @server.tool(annotations=READ)
    def read_text_file(
        path: Path_,
        offset: Annotated[int, Field(ge=0, description="Byte offset to start at (next_offset)")] = 0,
        max_bytes: Annotated[int, Field(ge=1, le=2_000_000)] = 100_000,
    ) -> Annotated[CallToolResult, TextFile]:
        """Read a text file as UTF-8, at most max_bytes at a time; next_offset continues."""
        read, text = browse.read_text_file(allowed, path, offset=offset, max_bytes=max_bytes)
        more = f"\n[more: call again with offset={read.next_offset}]" if read.next_offset is not None else ""
        return text_result(read, text + more)

    @server.tool(annotations=READ)
    def read_pdf_text(
        path: Path_,
        pages: Annotated[str | None, Field(description="Pages like '1-5,8,10-'; all when omitted")] = None,
        max_pages: Annotated[int, Field(ge=1, le=1000)] = 50,
        max_chars: Annotated[int, Field(ge=1, le=5_000_000)] = 100_000,
        password: Annotated[str | None, Field(description="For a password-protected PDF")] = None,
    ) -> Annotated[CallToolResult, PdfText]:
        """The text of a PDF's pages, within a page and character budget; next_page continues."""
        real = allowed.resolve(path)
        if not real.is_file():
            raise Refused(NOT_A_FILE, f"'{path}' is not a file")
        read = pdf.read_pdf_text(
            real, pages=pages, max_pages=max_pages, max_chars=max_chars, password=password
        )
        return text_result(read.info, read.as_text())

    @server.tool(annotations=READ)
    def file_info(path: Path_) -> FileInfo:
        """Kind, size, modification time, MIME type of a file or folder (and a PDF's page count)."""
        real = allowed.resolve(path)
        count = pdf.page_count(real) if real.is_file() and real.suffix.lower() == ".pdf" else None
        return browse.file_info(allowed, path, count)

    @server.tool(annotations=DESTROY)
    def write_file(path: Path_, content: str, overwrite: bool = False) -> Written:
        """Write a text file. An existing one is replaced only with overwrite=true, and goes to the trash."""
        return changes.write_file(allowed, trash, path, content, overwrite=overwrite)

    @server.tool(annotations=CHANGE)
    def move_file(source: Path_, destination: Path_) -> Moved:
        """Move a file or folder (into destination when it is a folder). Never replaces an existing file."""
        return changes.move_file(allowed, source, destination)

    @server.tool(annotations=CHANGE)
    def rename_file(
        path: Path_, new_name: Annotated[str, Field(description="The new name, without folders")]
    ) -> Moved:
        """Rename a file or folder in place. Never replaces an existing file."""
        return changes.rename_file(allowed, path, new_name)

    @server.tool(
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
        )
    )
    def make_directory(path: Path_) -> str:
        """Make a directory (and its missing parents); an existing one is fine."""
        return changes.make_directory(allowed, path)

    @server.tool(annotations=DESTROY)
    def move_to_trash(path: Path_) -> Trashed:
        """Move a file or folder to the trash (never deletes; restore it from the trash)."""
        return trash_entry(allowed, trash, path)

    @server.tool(annotations=READ)
    def plan_organize(
        directory: Path_,
        by: Grouping = "type",
        max_moves: Annotated[int, Field(ge=1, le=10_000)] = 500,
    ) -> Plan:
        """Plan how to sort a directory's files into folders (by project, type or date). Moves nothing:
        show the plan, then apply_plan(plan_id)."""
        return organizer.plan(directory, by, max_moves=max_moves)

    @server.tool(annotations=CHANGE)
    def apply_plan(plan_id: str) -> PlanOutcome:
        """Make the moves of a plan. Files changed since planning, and names taken, are refused and listed."""
        return organizer.apply(plan_id)

    @server.tool(annotations=CHANGE)
    def undo_plan(plan_id: str) -> PlanOutcome:
        """Move the files of an applied plan back where they were."""
        return organizer.undo(plan_id)

    return server


def text_result(model: BaseModel, text: str) -> CallToolResult:
    """A result whose content is the readable text and whose structured form is ``model``."""
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=model.model_dump(mode="json")
    )


def trash_entry(allowed: AllowedDirs, trash: Trash, path: str) -> Trashed:
    entry = allowed.resolve_entry(path)
    try:
        return trash.put(entry)
    except OSError as error:
        raise Refused(
            "os_error", f"could not move '{path}' to the trash: {error.strerror or error}"
        ) from None


def parse_arguments(argv: list[str]) -> tuple[AllowedDirs, Path]:
    parser = argparse.ArgumentParser(prog="files", allow_abbrev=False)
    parser.add_argument("--data-dir", default=os.environ.get(DATA_DIR_ENV))
    parser.add_argument("directories", nargs="*")
    options = parser.parse_args([arg for arg in argv if not _UNSET.match(arg)])
    allowed = AllowedDirs([str(d) for d in options.directories])
    for directory in allowed.dirs:
        if directory.resolved is None:
            print(
                f"files: allowed directory '{directory.configured}' does not exist; skipped", file=sys.stderr
            )
    data_dir = Path(options.data_dir) if options.data_dir else _default_data_dir()
    return allowed, data_dir


def _default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("tether")) / "extensions" / "files" / "data"


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    allowed, data_dir = parse_arguments(sys.argv[1:])
    build_server(allowed, data_dir).run()
