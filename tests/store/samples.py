"""Sample values for store tests, and raw access to the database file for tampering with it."""

from __future__ import annotations

import sqlite3
from collections.abc import Generator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from tether.core.activity import ToolCalled, seal
from tether.store.db import DATABASE_FILE
from tether.store.rows import activity_values
from tether.types import (
    Actor,
    ApprovalRequest,
    Decision,
    Effect,
    HostedTool,
    SourceConfig,
    SourceKind,
    ToolAnnotations,
    ToolDef,
)

SEARCH = ToolDef(
    name="search",
    title="Search",
    description="Search the notes.",
    input_schema={
        "type": "object",
        "properties": {"query": {"type": "string"}, "limit": {"type": "integer", "default": 10}},
        "required": ["query"],
    },
    output_schema={"type": "object", "properties": {"hits": {"type": "array"}}},
    annotations=ToolAnnotations(title="Search notes", read_only=True, destructive=False, open_world=None),
)
DELETE = ToolDef(name="delete", description="Delete a note.", annotations=ToolAnnotations(destructive=True))


def stdio_source(name: str = "notes") -> SourceConfig:
    return SourceConfig(
        name=name,
        kind=SourceKind.STDIO,
        command="/usr/bin/python3",
        args=("-m", "notes_server", "--verbose"),
        env={"NOTES_DIR": "/home/me/notes", "LANG": "C.UTF-8"},
        cwd="/home/me",
        is_enabled=False,
        call_timeout_s=12.5,
        skip_approvals=True,
    )


def approval_request(approval_id: str = "a1", tool: ToolDef = SEARCH) -> ApprovalRequest:
    return ApprovalRequest(
        id=approval_id,
        tool=HostedTool(f"notes__{tool.name}", "notes", tool),
        arguments={"query": "tax", "limit": 3, "nested": {"ok": True, "list": [1, 2.5, None]}},
        actor=Actor("gateway", "claude-code:token-1"),
        requested_at=datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC),
        decision=Decision(Effect.ASK, "new tools start at ask", "default"),
    )


@contextmanager
def raw_database(data_dir: Path) -> Generator[sqlite3.Connection]:
    """The database file opened with plain sqlite3, committed on exit, as a tamperer would."""
    with closing(sqlite3.connect(data_dir / DATABASE_FILE)) as connection, connection:
        yield connection


def insert_sealed_chain(data_dir: Path, rows: int) -> None:
    """Append ``rows`` valid records straight into the tables: a long log, quickly."""
    with raw_database(data_dir) as connection:
        seq, prev_hash = connection.execute("SELECT seq, hash FROM activity_head").fetchone()
        at = datetime(2026, 1, 1, tzinfo=UTC)
        values: list[dict[str, object]] = []
        for _ in range(rows):
            seq += 1
            event = ToolCalled(source="bulk", tool=f"t{seq % 10}", arguments={"n": seq}, effect="allow")
            record = seal(event, actor="bench", at=at, seq=seq, prev_hash=prev_hash)
            values.append(activity_values(record))
            prev_hash = record.hash
        connection.executemany(
            "INSERT INTO activity (seq, at, kind, actor, source, tool, data, prev_hash, hash) "
            "VALUES (:seq, :at, :kind, :actor, :source, :tool, :data, :prev_hash, :hash)",
            values,
        )
        connection.execute("UPDATE activity_head SET seq = ?, hash = ?", (seq, prev_hash))
