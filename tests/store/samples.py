"""Sample values for store tests, and raw access to the database (SQLite or PostgreSQL) to tamper with it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Coroutine, Generator, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast

import asyncpg

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


class RawError(Exception):
    """The database refused a statement run through ``raw_database`` (the driver's message kept)."""


class RawResult:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows

    def fetchone(self) -> Any:  # like sqlite3's: a tuple, or None when there is no row
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self._rows)


class RawDatabase(Protocol):
    """Plain SQL with ``?`` parameters, outside tether, as a tamperer would run it."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> RawResult: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


class _SqliteRaw:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> RawResult:
        try:
            return RawResult(self._conn.execute(sql, tuple(params)).fetchall())
        except sqlite3.Error as error:
            raise RawError(str(error)) from error

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, [tuple(row) for row in rows])


class _PostgresRaw:
    """asyncpg on an event loop of its own in a thread, so sync test code can use it mid-test."""

    def __init__(self, url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="raw-postgres", daemon=True)
        self._thread.start()
        connect = cast(Callable[[str], Coroutine[Any, Any, Any]], asyncpg.connect)  # asyncpg is untyped
        self._conn: Any = self._run(connect(url))

    def _run(self, work: Coroutine[Any, Any, Any]) -> Any:
        try:
            return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=30)
        except asyncpg.PostgresError as error:
            raise RawError(str(error)) from error

    def execute(self, sql: str, params: Sequence[Any] = ()) -> RawResult:
        rows: list[Sequence[Any]] = self._run(self._conn.fetch(_numbered(sql), *params))
        return RawResult([tuple(row) for row in rows])

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._run(self._conn.executemany(_numbered(sql), [tuple(row) for row in rows]))

    def close(self) -> None:
        try:
            self._run(self._conn.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()


def _numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1``, ``$2``..."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], start=1))


@contextmanager
def raw_database(location: Path | str) -> Generator[RawDatabase]:
    """The store's database opened with the plain driver, in one transaction committed on exit."""
    if isinstance(location, Path):
        with closing(sqlite3.connect(location / DATABASE_FILE)) as connection, connection:
            yield _SqliteRaw(connection)
        return
    raw = _PostgresRaw(location)
    try:
        raw.execute("BEGIN")
        try:
            yield raw
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        raw.execute("COMMIT")
    finally:
        raw.close()


def insert_sealed_chain(location: Path | str, rows: int) -> None:
    """Append ``rows`` valid records straight into the tables: a long log, quickly."""
    with raw_database(location) as db:
        head = db.execute("SELECT seq, hash FROM activity_head").fetchone()
        assert head is not None
        seq, prev_hash = head
        at = datetime(2026, 1, 1, tzinfo=UTC)
        values: list[tuple[object, ...]] = []
        for _ in range(rows):
            seq += 1
            event = ToolCalled(source="bulk", tool=f"t{seq % 10}", arguments={"n": seq}, effect="allow")
            record = seal(event, actor="bench", at=at, seq=seq, prev_hash=prev_hash)
            values.append(tuple(activity_values(record).values()))
            prev_hash = record.hash
        db.executemany(
            "INSERT INTO activity (seq, at, kind, actor, source, tool, data, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )
        db.execute("UPDATE activity_head SET seq = ?, hash = ?", (seq, prev_hash))
