"""A stdlib sqlite3 connection for the call path, which reads a policy and appends a row per call.

Statements run on the event loop thread and never wait there (busy_timeout 0). Only waiting
leaves it: for a lock another connection holds, and for a WAL checkpoint, a worker thread runs
that one C call, so no Python competes with the loop for the GIL. SQLite only.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

from tether.errors import StoreError
from tether.store.engine import BUSY_TIMEOUT_MS, SQLITE_PRAGMAS, store_error

T = TypeVar("T")
LaneWork = Callable[[sqlite3.Connection], T]

CHECKPOINT_EVERY_COMMITS = 120
"""Lane commits between WAL checkpoints: some 1000 pages, SQLite's own default."""
RESTART_AFTER_FRAMES = 8192
"""A WAL this long (32 MiB) is made to start over even if the lane must wait for it."""

_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
_LANE_PRAGMAS = (*SQLITE_PRAGMAS, "PRAGMA wal_autocheckpoint = 0", "PRAGMA busy_timeout = 0")


class LockBusy(Exception):
    """The lane cannot do this here and now without waiting."""


class SqliteLane:
    """Open with ``SqliteLane.open``; one per ``SqlStore``, used only from its event loop."""

    def __init__(
        self,
        connections: tuple[sqlite3.Connection, sqlite3.Connection, sqlite3.Connection],
        *,
        where: str,
    ) -> None:
        self.where = where
        self._conn, self._aside, checkpointing = connections
        self._away = anyio.Lock()
        """Held while a worker thread uses ``_conn``: the loop thread keeps off it then."""
        self._checkpointer = Checkpointer(checkpointing)
        self._commits = 0

    @classmethod
    async def open(cls, path: str, *, where: str) -> SqliteLane:
        def connect() -> tuple[sqlite3.Connection, sqlite3.Connection, sqlite3.Connection]:
            opened: list[sqlite3.Connection] = []
            try:
                for _ in range(3):
                    opened.append(sqlite3.connect(path, isolation_level=None, check_same_thread=False))
                    for pragma in _LANE_PRAGMAS:
                        opened[-1].execute(pragma)
            except BaseException:
                for connection in opened:
                    connection.close()
                raise
            return opened[0], opened[1], opened[2]

        try:
            return cls(await anyio.to_thread.run_sync(connect), where=where)
        except sqlite3.Error as error:
            raise store_error(error, where) from error

    @property
    def is_away(self) -> bool:
        """True while a worker thread has the connection (``read_aside`` still reads)."""
        return self._away.locked()

    def data_version(self) -> int:
        """A number that changes whenever another connection commits (this one's commits do not count)."""
        return self.read_now(_data_version)

    def read_now(self, work: LaneWork[T]) -> T:
        """Run ``work`` here and now outside a transaction (each statement sees one state); or LockBusy."""
        if self.is_away:
            raise LockBusy
        return self._read(self._conn, work)

    def read_aside(self, work: LaneWork[T]) -> T:
        """Like ``read_now``, on a second connection, for when the lane is away."""
        return self._read(self._aside, work)

    def write_now(self, work: LaneWork[T]) -> T:
        """Run ``work`` in a BEGIN IMMEDIATE transaction here and now; ``LockBusy`` if that would wait."""
        if self.is_away or self._checkpointer.needs_restart:
            raise LockBusy
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise self._translated(error, can_wait=True) from error
        return self._finish(work)

    async def write(self, work: LaneWork[T]) -> T:
        """Run ``work`` in a BEGIN IMMEDIATE transaction, waiting for the lock in a thread if need be."""
        if self._checkpointer.needs_restart and not self.is_away:
            await self._finish_checkpoint()
        try:
            return self.write_now(work)
        except LockBusy:
            pass
        # The thread only waits for the lock; the work then runs here, on the loop thread.
        async with self._away:
            await anyio.to_thread.run_sync(self._begin_waiting)
            return self._finish(work)

    async def close(self) -> None:
        with anyio.CancelScope(shield=True):
            async with self._away:
                await anyio.to_thread.run_sync(self._close)

    def _read(self, conn: sqlite3.Connection, work: LaneWork[T]) -> T:
        try:
            return work(conn)
        except sqlite3.Error as error:
            raise self._translated(error, can_wait=True) from error

    def _begin_waiting(self) -> None:
        conn = self._conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            try:
                conn.execute("BEGIN IMMEDIATE")
            finally:
                conn.execute("PRAGMA busy_timeout = 0")
        except sqlite3.Error as error:
            raise self._translated(error, can_wait=False) from error

    def _finish(self, work: LaneWork[T]) -> T:
        """Run ``work`` in the transaction BEGIN started, then COMMIT (or ROLLBACK if it fails)."""
        conn = self._conn
        try:
            try:
                result = work(conn)
                conn.execute("COMMIT")
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
        except sqlite3.Error as error:
            raise self._translated(error, can_wait=False) from error
        self._commits += 1
        if self._commits >= CHECKPOINT_EVERY_COMMITS:
            self._commits = 0
            self._checkpointer.wake()
        return result

    async def _finish_checkpoint(self) -> None:
        # Writes that go on while the checkpointer copies keep the WAL from starting over, so
        # under steady load it grows; copying what came since, with the lane held back, lets it.
        self._checkpointer.needs_restart = False
        with anyio.CancelScope(shield=True):
            async with self._away:
                await anyio.to_thread.run_sync(self._checkpoint)

    def _checkpoint(self) -> None:
        with contextlib.suppress(sqlite3.Error):  # a failed one leaves a longer WAL for the next
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _close(self) -> None:
        try:
            self._checkpointer.stop()
        finally:
            self._aside.close()
            self._conn.close()

    def _translated(self, error: sqlite3.Error, *, can_wait: bool) -> LockBusy | StoreError:
        if can_wait and error.sqlite_errorcode & 0xFF in _BUSY_CODES:
            return LockBusy()
        return store_error(error, self.where)


class Checkpointer:
    """A thread that copies the WAL into the database (PASSIVE: nobody waits for it) when woken.

    The WAL starts over at the first write after a copy that no write overlapped. Under steady
    load that never happens, so past ``RESTART_AFTER_FRAMES`` it asks the lane (``needs_restart``).
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self.needs_restart = False
        self._is_due = threading.Event()
        self._is_stopping = False
        self._thread = threading.Thread(target=self._run, name="tether-wal-checkpoint", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._is_due.set()

    def stop(self) -> None:
        """End the thread (after a checkpoint it is running) and close its connection."""
        self._is_stopping = True
        self._is_due.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while True:
                self._is_due.wait()
                self._is_due.clear()
                if self._is_stopping:
                    return
                with contextlib.suppress(sqlite3.Error):  # a failed one leaves a longer WAL for the next
                    _, frames, _ = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.needs_restart = frames >= RESTART_AFTER_FRAMES
        finally:
            self._conn.close()


def _data_version(conn: sqlite3.Connection) -> int:
    (version,) = conn.execute("PRAGMA data_version").fetchone()
    return int(version)
