"""What every call reads and writes: fresh after any other writer, whole when a lock is held (SQLite)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Generator
from contextlib import closing, contextmanager
from pathlib import Path

import anyio
import pytest
from anyio.lowlevel import checkpoint

from tether.core.activity import ToolCalled
from tether.core.pinning import definition_hash
from tether.core.storage import ActivityFilter, ToolPolicy
from tether.store import SqlStore, open_store
from tether.store.db import DATABASE_FILE
from tether.types import ActivityRecord, Effect

from .samples import SEARCH, raw_database


@contextmanager
def write_lock_held(data_dir: Path) -> Generator[sqlite3.Connection]:
    """Another connection holding the database's write lock until it commits."""
    with closing(sqlite3.connect(data_dir / DATABASE_FILE, isolation_level=None)) as holder:
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield holder
        finally:
            if holder.in_transaction:
                holder.execute("COMMIT")


async def test_a_policy_set_through_another_connection_applies_to_the_next_read(
    store: SqlStore, location: Path | str
) -> None:
    assert await store.get_policy("notes", "search") == ToolPolicy()
    async with await open_store(location) as other:
        await other.set_effect("notes", "search", Effect.BLOCK)
        assert (await store.get_policy("notes", "search")).effect is Effect.BLOCK
        await other.set_pin("notes", "search", SEARCH, definition_hash(SEARCH))
        assert await store.get_policy("notes", "search") == ToolPolicy(
            Effect.BLOCK, SEARCH, definition_hash(SEARCH)
        )
    with raw_database(location) as db:
        db.execute("UPDATE policies SET effect = 'allow'")
    assert (await store.get_policy("notes", "search")).effect is Effect.ALLOW


async def test_a_setting_changed_elsewhere_applies_to_the_next_read(
    store: SqlStore, location: Path | str
) -> None:
    assert await store.get_setting("policy.rules") is None
    async with await open_store(location) as other:
        await other.set_setting("policy.rules", ["ask-destructive"])
    assert await store.get_setting("policy.rules") == ["ask-destructive"]


async def test_own_writes_apply_to_the_next_read_between_appends(store: SqlStore) -> None:
    for effect in (Effect.ALLOW, Effect.BLOCK, Effect.ASK):
        await store.append(ToolCalled(source="notes", tool="search"), actor="cli")
        await store.set_effect("notes", "search", effect)
        await store.append(ToolCalled(source="notes", tool="search"), actor="cli")
        assert (await store.get_policy("notes", "search")).effect is effect


async def test_a_cached_value_handed_out_is_the_callers_own(store: SqlStore) -> None:
    await store.set_setting("ui", {"zoom": 1})
    mine = await store.get_setting("ui")
    assert isinstance(mine, dict)
    mine["zoom"] = 2
    assert await store.get_setting("ui") == {"zoom": 1}


@pytest.mark.sqlite_only
async def test_appends_wait_for_a_lock_held_elsewhere_then_all_commit_in_order(
    store: SqlStore, data_dir: Path
) -> None:
    await store.append(ToolCalled(source="notes", tool="first"), actor="cli")
    written: list[ActivityRecord] = []

    async def append(n: int) -> None:
        written.append(await store.append(ToolCalled(source="notes", tool=f"t{n}"), actor="cli"))

    with anyio.fail_after(30), write_lock_held(data_dir) as holder:
        async with anyio.create_task_group() as tg:
            for n in range(5):
                tg.start_soon(append, n)
            await anyio.wait_all_tasks_blocked()
            assert written == []  # none got past the lock
            assert await store.get_policy("notes", "search") == ToolPolicy()  # reads do not wait
            holder.execute("COMMIT")
    assert sorted(r.seq for r in written) == [2, 3, 4, 5, 6]
    assert await store.records(ActivityFilter(after_seq=1)) == sorted(written, key=lambda r: r.seq)
    assert (await store.verify()).is_intact


@pytest.mark.sqlite_only
async def test_a_cancelled_append_still_commits_and_leaves_nothing_running(
    store: SqlStore, data_dir: Path
) -> None:
    tasks_before = asyncio.all_tasks()

    async def append() -> None:
        await store.append(ToolCalled(source="notes", tool="search"), actor="cli")

    with anyio.fail_after(30), write_lock_held(data_dir) as holder:
        async with anyio.create_task_group() as tg:
            tg.start_soon(append)
            tg.start_soon(append)
            await anyio.wait_all_tasks_blocked()
            tg.cancel_scope.cancel()
            holder.execute("COMMIT")
    assert asyncio.all_tasks() - tasks_before == set()
    assert [r.seq for r in await store.records()] == [1, 2]
    assert (await store.verify()).is_intact


async def test_two_stores_on_one_database_append_into_one_chain(
    store: SqlStore, location: Path | str
) -> None:
    async with await open_store(location) as other:

        async def append(into: SqlStore, name: str) -> None:
            for n in range(50):
                await into.append(ToolCalled(source=name, tool=f"t{n}"), actor=name)
                await checkpoint()

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(append, store, "a")
                tg.start_soon(append, other, "b")
    report = await store.verify()
    assert (report.is_intact, report.checked) == (True, 100)


@pytest.mark.sqlite_only
async def test_closing_the_store_stops_its_checkpoint_thread(data_dir: Path) -> None:
    async with await open_store(data_dir) as store:
        await store.append(ToolCalled(source="notes", tool="search"), actor="cli")
        assert any(t.name == "tether-wal-checkpoint" for t in threading.enumerate())
    assert not any(t.name == "tether-wal-checkpoint" for t in threading.enumerate())
