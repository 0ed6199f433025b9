"""The database connection: engine set-up, transactions, error translation.

A transaction is one function of a ``sa.Connection``, run in one trip: on SQLite in a worker
thread on a sync engine (WAL, busy timeout, writes ``BEGIN IMMEDIATE``), on PostgreSQL through
the async engine (``postgres.py``). Driver errors leave ``read``/``write`` only as ``StoreError``.
"""

from __future__ import annotations

import abc
import sqlite3
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import contextmanager
from typing import TypeVar

import anyio
import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import ConnectionPoolEntry

from tether.errors import StoreError

T = TypeVar("T")
Work = Callable[[sa.Connection], T]
"""What runs inside one transaction."""

BUSY_TIMEOUT_MS = 10_000
_BEGIN_OPTION = "tether_begin"


def database_url(url: str | sa.URL) -> sa.URL:
    """``url`` with tether's driver filled in where only the database was named."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite")  # the stdlib driver: SQLite runs in worker threads
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg")
    return parsed


class Database(abc.ABC):
    """Runs transactions; ``connect`` picks SQLite (here) or PostgreSQL (``postgres.py``)."""

    is_sqlite = False
    sqlite_path: str | None = None
    """The SQLite database file, for connections made without SQLAlchemy (``lane.py``)."""

    def __init__(self, *, where: str) -> None:
        self.where = where
        """What to name in error messages: the data dir, or the URL without its password."""

    @classmethod
    def connect(cls, url: str | sa.URL, *, where: str) -> Database:
        target = database_url(url)
        backend = target.get_backend_name()
        if backend == "sqlite":
            return SqliteDatabase(target, where=where)
        if backend == "postgresql":
            from tether.store.postgres import PostgresDatabase  # only team mode loads asyncio and asyncpg

            return PostgresDatabase(target, where=where)
        raise StoreError(f"cannot use the database {where}: tether stores its data in SQLite or PostgreSQL")

    @abc.abstractmethod
    async def read(self, work: Work[T], *, snapshot: bool = False) -> T:
        """Run ``work`` on a connection for reading; never blocks writers.

        Each statement sees a consistent state on its own; ``snapshot=True`` makes all of
        them see the same one (on SQLite that costs an extra BEGIN, so ask only when needed).
        """
        ...

    @abc.abstractmethod
    async def write(self, work: Work[T]) -> T:
        """Run ``work`` in a transaction that holds the write lock from its first statement."""
        ...

    @abc.abstractmethod
    def upsert(self, table: sa.Table, values: Mapping[str, object], *, keys: Sequence[str]) -> sa.Executable:
        """INSERT ``values``, or UPDATE the other columns of the row with the same ``keys``."""
        ...

    @abc.abstractmethod
    def insert_new(
        self, table: sa.Table, values: Mapping[str, object], *, keys: Sequence[str]
    ) -> sa.Executable:
        """INSERT ``values`` unless a row with the same ``keys`` exists (rowcount says which).

        On PostgreSQL it waits for a concurrent insert of that row, so unlike a SELECT first it
        cannot miss one: what a read-then-write transaction locks on when the row may not exist.
        """
        ...

    @abc.abstractmethod
    async def close(self) -> None:
        """Close every pooled connection, even while being cancelled."""
        ...

    @contextmanager
    def translated_errors(self) -> Generator[None]:
        try:
            yield
        except DBAPIError as error:
            raise store_error(error.orig or error, self.where) from error
        except sqlite3.Error as error:
            raise store_error(error, self.where) from error
        except PoolTimeout as error:
            raise StoreError(
                f"every connection to the database in {self.where} stayed busy: try again"
            ) from error


class SqliteDatabase(Database):
    """SQLite on a sync engine: each transaction is one call in a worker thread.

    The thread cannot be cancelled half-way, so the caller is cancelled after the
    transaction ends and no connection is left in an unknown state.
    """

    is_sqlite = True

    def __init__(self, url: sa.URL, *, where: str) -> None:
        super().__init__(where=where)
        # isolation_level=None stops sqlite3 from issuing its own BEGIN; _begin does it. Every
        # connection is used by a function that ends its transaction: no reset on check-in.
        self.engine = sa.create_engine(url, connect_args={"isolation_level": None}, pool_reset_on_return=None)
        event.listen(self.engine, "connect", _configure_sqlite)
        event.listen(self.engine, "begin", _begin)
        if url.database and url.database != ":memory:":
            self.sqlite_path = url.database
        self._writer = self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        self._snapshot_reader = self.engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"})
        # Writers in this process queue here instead of spinning in SQLite's busy handler;
        # BEGIN IMMEDIATE still serializes them against other processes.
        self._write_lock = anyio.Lock()

    async def read(self, work: Work[T], *, snapshot: bool = False) -> T:
        engine = self._snapshot_reader if snapshot else self.engine

        def run() -> T:
            with engine.connect() as conn:
                return work(conn)

        with self.translated_errors():
            return await anyio.to_thread.run_sync(run)

    async def write(self, work: Work[T]) -> T:
        def run() -> T:
            with self._writer.begin() as conn:
                return work(conn)

        async with self._write_lock:
            with self.translated_errors():
                return await anyio.to_thread.run_sync(run)

    def upsert(self, table: sa.Table, values: Mapping[str, object], *, keys: Sequence[str]) -> sa.Executable:
        statement = sqlite.insert(table).values(dict(values))
        changes = {name: statement.excluded[name] for name in values if name not in keys}
        return statement.on_conflict_do_update(index_elements=list(keys), set_=changes)

    def insert_new(
        self, table: sa.Table, values: Mapping[str, object], *, keys: Sequence[str]
    ) -> sa.Executable:
        return sqlite.insert(table).values(dict(values)).on_conflict_do_nothing(index_elements=list(keys))

    async def close(self) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.engine.dispose)


def store_error(error: BaseException, where: str) -> StoreError:
    """A ``StoreError`` that says what went wrong with ``where`` (given the driver's error) and what to do."""
    detail = str(error).lower()
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
    if "password authentication failed" in detail or ("role" in detail and "does not exist" in detail):
        return StoreError(
            f"the database {where} refused tether's user or password ({error}): check the user in "
            "database_url and its password (TETHER_DATABASE_URL, or `tether db password`)"
        )
    if detail.startswith("database") and "does not exist" in detail:
        return StoreError(f"{error} at {where}: create it (createdb) or point database_url at the right one")
    if "no such table" in detail or "no such column" in detail:
        return StoreError(f"the database in {where} is not at the current schema: run `tether db upgrade`")
    return StoreError(f"the database in {where} failed: {error}")


# busy_timeout first: switching to WAL may itself wait for another process.
SQLITE_PRAGMAS = (
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
)
"""What every tether connection to SQLite runs first."""
_JOURNAL_RETRY_S = 0.01


def _configure_sqlite(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            if "journal_mode" in pragma:
                _switch_journal_mode(cursor, pragma)
            else:
                cursor.execute(pragma)
    finally:
        cursor.close()


def _switch_journal_mode(cursor: DBAPICursor, pragma: str) -> None:
    """Run ``pragma``, trying again while another process holds the lock, up to the busy timeout.

    Switching a new database to WAL takes its exclusive lock, and SQLite does not wait for that
    one (waiting could deadlock), so processes creating one database at once fail here otherwise.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute(pragma)
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(_JOURNAL_RETRY_S)


def _begin(conn: sa.Connection) -> None:
    # Without a BEGIN, sqlite3 (isolation_level=None) runs each statement as its own transaction.
    mode = conn.get_execution_options().get(_BEGIN_OPTION)
    if mode is not None:
        conn.exec_driver_sql(f"BEGIN {mode}")
