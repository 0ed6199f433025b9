"""What every tool call asks of the store, made cheap on SQLite: cached reads and grouped commits.

``ReadCache`` keeps what the lane read until another connection commits (``PRAGMA data_version``;
this process's engine counts as another), so a change made anywhere applies to the next call.
``GroupCommit`` commits each item before its caller returns, waiting ones together.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar, cast

import anyio

from tether.store.lane import LaneWork, LockBusy, SqliteLane

T = TypeVar("T")
ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

MAX_CACHED = 4096
"""Entries the cache holds before it starts over (one per tool and setting in practice)."""


class ReadCache:
    def __init__(self, lane: SqliteLane) -> None:
        self._lane = lane
        self._version = -1
        self._values: dict[Hashable, object] = {}

    def get(self, key: Hashable, load: LaneWork[T]) -> T:
        """The value under ``key``, read with ``load`` when not cached; or ``LockBusy``."""
        if self._lane.is_away:
            return self._lane.read_aside(load)  # fresh: its version cannot be told from here
        version = self._lane.data_version()
        if version != self._version:
            self._values.clear()
            self._version = version
        if key in self._values:
            return cast(T, self._values[key])
        # Read after the version: a commit in between makes the next check drop this value.
        value = self._lane.read_now(load)
        if len(self._values) >= MAX_CACHED:
            self._values.clear()
        self._values[key] = value
        return value


class _Waiting(Generic[ItemT, ResultT]):
    __slots__ = ("done", "error", "item", "result")

    def __init__(self, item: ItemT) -> None:
        self.item = item
        self.done: anyio.Event | None = None
        self.result: ResultT | None = None
        self.error: BaseException | None = None

    def finish(self, result: ResultT | None, error: BaseException | None) -> None:
        self.result, self.error = result, error
        if self.done is not None:
            self.done.set()

    def outcome(self) -> ResultT:
        if self.error is not None:
            raise self.error
        return cast(ResultT, self.result)


class GroupCommit(Generic[ItemT, ResultT]):
    """Writes items through the lane with ``write_batch``, one transaction per batch."""

    def __init__(
        self, lane: SqliteLane, write_batch: Callable[[sqlite3.Connection, list[ItemT]], list[ResultT]]
    ) -> None:
        self._lane = lane
        self._write_batch = write_batch
        self._queue: list[_Waiting[ItemT, ResultT]] = []
        self._is_writing = False

    async def write(self, item: ItemT) -> ResultT:
        """Return once ``item`` is committed. A cancelled caller is cancelled after that, not before."""
        if not self._is_writing:
            # Nobody else is writing: commit this one alone, here and now, if the lock is free.
            try:
                (result,) = self._lane.write_now(self._work([item]))
            except LockBusy:
                pass
            else:
                return result
        waiting = _Waiting[ItemT, ResultT](item)
        self._queue.append(waiting)
        with anyio.CancelScope(shield=True):
            if self._is_writing:
                waiting.done = anyio.Event()
                await waiting.done.wait()
            else:
                await self._write_queue()
        return waiting.outcome()

    def _work(self, items: list[ItemT]) -> LaneWork[list[ResultT]]:
        return lambda conn: self._write_batch(conn, items)

    async def _write_queue(self) -> None:
        # The first caller writes for everyone until the queue is empty; when the lock is
        # free this is one synchronous transaction and no other caller ever waits.
        self._is_writing = True
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    results = await self._lane.write(self._work([waiting.item for waiting in batch]))
                except BaseException as error:
                    for waiting in batch:
                        waiting.finish(None, error)
                    if not isinstance(error, Exception):
                        raise
                else:
                    for waiting, result in zip(batch, results, strict=True):
                        waiting.finish(result, None)
        finally:
            self._is_writing = False
            for waiting in self._queue:  # only left when something fatal stopped the loop
                waiting.finish(None, RuntimeError("the store stopped before this row was written"))
            self._queue.clear()
