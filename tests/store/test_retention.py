"""Pruning old activity keeps what stays verifiable, and tampering after a prune is still caught."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tether.core.activity import ActivityPruned, ToolCalled
from tether.errors import ChainBroken, UsageError
from tether.store import SqlStore

from .samples import insert_sealed_chain, raw_database

OLD = datetime(2026, 1, 1, tzinfo=UTC)  # when insert_sealed_chain's rows happened
CUTOFF = datetime(2026, 6, 1, tzinfo=UTC)


async def _log(store: SqlStore, rows: int) -> None:
    for n in range(rows):
        await store.append(ToolCalled(source="notes", tool="search", arguments={"n": n}), actor="cli")


async def _seqs(store: SqlStore) -> list[int]:
    return [r.seq for r in await store.records()]


async def test_pruning_by_age_removes_the_old_rows_and_records_the_prune(
    store: SqlStore, location: Path | str
) -> None:
    insert_sealed_chain(location, 30)
    await _log(store, 5)
    pruned = await store.prune(older_than=CUTOFF, actor="cli:alice")
    assert pruned is not None
    assert (pruned.seq, pruned.kind, pruned.actor) == (36, ActivityPruned.kind, "cli:alice")
    assert pruned.data["removed"] == 30
    assert pruned.data["through_seq"] == 30
    assert pruned.data["older_than"] == CUTOFF.isoformat(timespec="microseconds")
    assert await _seqs(store) == list(range(31, 37))
    report = await store.verify()
    assert report.is_intact, report.problem
    assert report.checked == 6


async def test_pruning_by_count_keeps_the_newest_rows(store: SqlStore) -> None:
    await _log(store, 10)
    pruned = await store.prune(keep_rows=4, actor="cli")
    assert pruned is not None
    assert pruned.data["removed"] == 6
    assert await _seqs(store) == [7, 8, 9, 10, 11]
    assert (await store.verify()).is_intact


async def test_with_both_limits_a_row_goes_when_either_says_so(store: SqlStore, location: Path | str) -> None:
    insert_sealed_chain(location, 3)
    await _log(store, 5)
    pruned = await store.prune(older_than=CUTOFF, keep_rows=2, actor="cli")
    assert pruned is not None
    assert pruned.data["removed"] == 6
    assert await _seqs(store) == [7, 8, 9]


async def test_pruning_nothing_changes_nothing(store: SqlStore, location: Path | str) -> None:
    assert await store.prune(keep_rows=5, actor="cli") is None
    await _log(store, 3)
    assert await store.prune(keep_rows=3, actor="cli") is None
    assert await store.prune(older_than=OLD, actor="cli") is None
    assert await _seqs(store) == [1, 2, 3]
    with raw_database(location) as db:
        assert db.execute("SELECT count(*) FROM activity_checkpoint").fetchone() == (0,)
    assert (await store.verify()).checked == 3


async def test_a_prune_needs_a_limit(store: SqlStore) -> None:
    with pytest.raises(UsageError):
        await store.prune(actor="cli")
    with pytest.raises(UsageError):
        await store.prune(keep_rows=-1, actor="cli")


async def test_the_age_limit_removes_only_a_prefix_when_the_clock_went_backwards(
    store: SqlStore, location: Path | str
) -> None:
    await _log(store, 2)  # now
    insert_sealed_chain(location, 2)  # "2026-01-01": a clock set back
    await _log(store, 1)
    assert await store.prune(older_than=CUTOFF, actor="cli") is None  # row 1 is new: nothing before it
    assert await _seqs(store) == [1, 2, 3, 4, 5]


async def test_prunes_in_a_row_each_start_the_log_later(store: SqlStore) -> None:
    await _log(store, 6)
    await store.prune(keep_rows=3, actor="cli")  # removes 1-3, records row 7
    await _log(store, 2)
    second = await store.prune(keep_rows=1, actor="cli")  # removes 4-8 (the first prune's row too)
    assert second is not None
    assert (second.data["removed"], second.data["through_seq"]) == (5, 8)
    assert await _seqs(store) == [9, 10]
    assert (await store.verify()).is_intact


async def test_an_edit_after_a_prune_is_still_named(store: SqlStore, location: Path | str) -> None:
    await _log(store, 8)
    await store.prune(keep_rows=4, actor="cli")
    with raw_database(location) as db:
        db.execute("UPDATE activity SET actor = 'mallory' WHERE seq = 6")
    report = await store.verify()
    assert (report.first_broken_seq, report.checked) == (6, 1)


async def test_the_first_row_after_the_checkpoint_cannot_be_removed_unseen(
    store: SqlStore, location: Path | str
) -> None:
    await _log(store, 8)
    await store.prune(keep_rows=4, actor="cli")
    with raw_database(location) as db:
        db.execute("DELETE FROM activity WHERE seq = 5")
    assert (await store.verify()).first_broken_seq == 6


async def test_a_truncated_tail_after_a_prune_is_named(store: SqlStore, location: Path | str) -> None:
    await _log(store, 8)
    await store.prune(keep_rows=4, actor="cli")
    with raw_database(location) as db:
        db.execute("DELETE FROM activity WHERE seq >= 8")
    report = await store.verify()
    assert (report.first_broken_seq, report.checked) == (8, 3)


async def test_rows_removed_by_hand_behind_a_forged_checkpoint_are_caught(
    store: SqlStore, location: Path | str
) -> None:
    await _log(store, 8)
    await store.prune(keep_rows=6, actor="cli")  # the checkpoint is row 2; row 9 records it
    with raw_database(location) as db:
        (row_4_hash,) = db.execute("SELECT hash FROM activity WHERE seq = 4").fetchone()
        db.execute("DELETE FROM activity WHERE seq <= 4")
        db.execute("INSERT INTO activity_checkpoint VALUES (4, ?, '2026-01-01', 2)", (row_4_hash,))
    report = await store.verify()
    assert report.first_broken_seq == 5
    assert "prune" in report.problem


async def test_rows_slipped_in_before_the_checkpoint_are_named(store: SqlStore, location: Path | str) -> None:
    await _log(store, 6)
    await store.prune(keep_rows=3, actor="cli")
    with raw_database(location) as db:  # a forged "old" row where pruned ones used to be
        db.execute(
            "INSERT INTO activity (seq, at, kind, actor, source, tool, data, prev_hash, hash) "
            "SELECT 1, at, kind, actor, source, tool, data, prev_hash, hash FROM activity WHERE seq = 4"
        )
    assert (await store.verify()).first_broken_seq == 1


async def test_a_broken_stretch_is_not_pruned(store: SqlStore, location: Path | str) -> None:
    await _log(store, 6)
    with raw_database(location) as db:
        db.execute("UPDATE activity SET actor = 'mallory' WHERE seq = 2")
    with pytest.raises(ChainBroken) as caught:
        await store.prune(keep_rows=2, actor="cli")
    assert caught.value.code == "chain_broken"
    assert await _seqs(store) == [1, 2, 3, 4, 5, 6]
    assert (await store.verify()).first_broken_seq == 2


async def test_appends_after_a_prune_continue_the_chain(store: SqlStore, location: Path | str) -> None:
    insert_sealed_chain(location, 5)
    await store.prune(older_than=CUTOFF, actor="cli")
    record = await store.append(ToolCalled(source="notes", tool="search"), actor="cli")
    assert record.seq == 7
    report = await store.verify()
    assert (report.is_intact, report.checked) == (True, 2)
