"""The database connection: engine set-up, read and write transactions, error translation.

On SQLite every connection gets WAL, a busy timeout, foreign keys and synchronous=NORMAL,
and write transactions start with ``BEGIN IMMEDIATE`` so read-then-write sequences are
serialized across processes. Nothing here knows tether's tables; raw SQLAlchemy and
driver errors never leave ``Database.read``/``Database.write``: they become ``StoreError``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from tether.errors import StoreError

BUSY_TIMEOUT_MS = 10_000
_WRITE_OPTION = "tether_write"
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(url: str | sa.URL) -> sa.URL:
    """``url`` with tether's async driver filled in where only the database was named."""
    parsed = sa.make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver) if driver else parsed


class Database:
    """An async engine plus the two kinds of transaction tether uses."""

    def __init__(self, engine: AsyncEngine, *, where: str) -> None:
        self.engine = engine
        self.where = where
        """What to name in error messages: the data dir, or the URL without its password."""
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._writer = engine.execution_options(**{_WRITE_OPTION: True})
        # Writers in this process queue here instead of spinning in SQLite's busy handler;
        # BEGIN IMMEDIATE still serializes them against other processes.
        self._write_lock = anyio.Lock()

    @classmethod
    def connect(cls, url: str | sa.URL, *, where: str) -> Database:
        target = async_url(url)
        is_sqlite = target.get_backend_name() == "sqlite"
        # isolation_level=None stops sqlite3 from issuing its own BEGIN; _begin does it.
        connect_args: dict[str, Any] = {"isolation_level": None} if is_sqlite else {}
        engine = create_async_engine(target, connect_args=connect_args)
        if is_sqlite:
            event.listen(engine.sync_engine, "connect", _configure_sqlite)
            event.listen(engine.sync_engine, "begin", _begin)
        return cls(engine, where=where)

    @asynccontextmanager
    async def read(self) -> AsyncGenerator[AsyncConnection]:
        """A read transaction: one consistent snapshot, never blocks writers (WAL)."""
        with self.translated_errors():
            async with self.engine.connect() as conn:
                yield conn

    @asynccontextmanager
    async def write(self) -> AsyncGenerator[AsyncConnection]:
        """A write transaction that holds the database's write lock from its first statement."""
        async with self._write_lock:
            with self.translated_errors():
                async with self._writer.begin() as conn:
                    yield conn

    @contextmanager
    def translated_errors(self) -> Generator[None]:
        try:
            yield
        except DBAPIError as error:
            raise store_error(error, self.where) from error

    async def close(self) -> None:
        await self.engine.dispose()


def store_error(error: DBAPIError, where: str) -> StoreError:
    """A ``StoreError`` that says what went wrong with ``where`` and what to do about it."""
    detail = str(error.orig).lower()
    if "not a database" in detail or "malformed" in detail or "encrypted" in detail:
        return StoreError(
            f"the database in {where} is damaged or is not a tether database: move tether.db "
            "aside (or restore a backup) and start tether again"
        )
    if "readonly" in detail or "read-only" in detail:
        return StoreError(
            f"the data dir {where} is read-only: make it writable, or set TETHER_HOME to a writable directory"
        )
    if "unable to open" in detail:
        return StoreError(
            f"cannot open the database in {where}: make sure the directory exists and is "
            "writable, or set TETHER_HOME to a writable directory"
        )
    if "locked" in detail or "busy" in detail:
        return StoreError(
            f"the database in {where} stayed locked by another process for "
            f"{BUSY_TIMEOUT_MS // 1000} s: stop the process that holds it and try again"
        )
    if "no such table" in detail or "no such column" in detail:
        return StoreError(f"the database in {where} is not at the current schema: run `tether db upgrade`")
    return StoreError(f"the database in {where} failed: {error.orig}")


def _configure_sqlite(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching to WAL may itself wait for another process.
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _begin(conn: sa.Connection) -> None:
    mode = "IMMEDIATE" if conn.get_execution_options().get(_WRITE_OPTION) else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")
