"""The activity log keeps every row in seq order and names the row where tampering starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tether.core.activity import (
    GENESIS_HASH,
    ApprovalResolved,
    PolicyChanged,
    SourceAdded,
    ToolCalled,
    ToolsChanged,
    record_hash,
    seal,
)
from tether.core.storage import ActivityFilter
from tether.store import SqlStore, open_store
from tether.store.chain import COLUMNS, VERIFY_BATCH_ROWS, hash_from_text
from tether.store.rows import activity_values

from .samples import RawError, insert_sealed_chain, raw_database


async def _log(store: SqlStore, rows: int) -> None:
    for n in range(1, rows + 1):
        await store.append(
            ToolCalled(source="notes", tool="search", arguments={"n": n}, effect="allow"), actor="cli"
        )


async def test_appended_records_read_back_equal_in_seq_order(store: SqlStore) -> None:
    written = [
        await store.append(SourceAdded(source="notes", config={"command": "x", "args": ["-v"]}), actor="cli"),
        await store.append(
            ToolCalled(
                source="notes",
                tool="search",
                arguments={"q": "é", "n": 1.5},
                effect="ask",
                verdict="approved_once",
            ),
            actor="gateway:tok",
        ),
        await store.append(ToolsChanged(source="notes", added=("a", "b")), actor="source:notes"),
    ]
    assert [r.seq for r in written] == [1, 2, 3]
    assert written[0].prev_hash == GENESIS_HASH
    assert written[1].prev_hash == written[0].hash
    assert await store.records() == written


async def test_a_stored_record_hashes_to_its_stored_hash(store: SqlStore, location: Path | str) -> None:
    await store.append(PolicyChanged(source="notes", tool="search", effect="allow"), actor="cli")
    async with await open_store(location) as reopened:
        (record,) = await reopened.records()
    assert record.at.tzinfo is not None
    assert record.hash == record_hash(
        seq=record.seq,
        at=record.at,
        kind=record.kind,
        actor=record.actor,
        source=record.source,
        tool=record.tool,
        data=record.data,
        prev_hash=record.prev_hash,
    )


async def test_records_filter_by_source_tool_kind_and_effect(store: SqlStore) -> None:
    await store.append(ToolCalled(source="notes", tool="search", effect="allow"), actor="cli")
    await store.append(ToolCalled(source="notes", tool="delete", effect="block"), actor="cli")
    await store.append(ToolCalled(source="files", tool="search", effect="ask"), actor="cli")
    await store.append(ApprovalResolved(source="notes", tool="search", verdict="denied"), actor="cli")

    async def seqs(query: ActivityFilter) -> list[int]:
        return [r.seq for r in await store.records(query)]

    assert await seqs(ActivityFilter(source="notes")) == [1, 2, 4]
    assert await seqs(ActivityFilter(tool="search")) == [1, 3, 4]
    assert await seqs(ActivityFilter(kind="approval.resolved")) == [4]
    assert await seqs(ActivityFilter(effect="block")) == [2]
    assert await seqs(ActivityFilter(source="notes", tool="search", kind="tool.called")) == [1]


async def test_records_page_by_seq_and_window_by_time(store: SqlStore) -> None:
    started = datetime.now(UTC)
    await _log(store, 5)
    ended = datetime.now(UTC)

    async def seqs(query: ActivityFilter) -> list[int]:
        return [r.seq for r in await store.records(query)]

    assert await seqs(ActivityFilter(after_seq=3)) == [4, 5]
    assert await seqs(ActivityFilter(limit=2)) == [1, 2]
    assert await seqs(ActivityFilter(newest_first=True, limit=2)) == [5, 4]
    assert await seqs(ActivityFilter(after_seq=1, newest_first=True, limit=10)) == [5, 4, 3, 2]
    assert await seqs(ActivityFilter(before_seq=4, newest_first=True, limit=2)) == [3, 2]
    assert await seqs(ActivityFilter(since=started, until=ended + timedelta(seconds=1))) == [1, 2, 3, 4, 5]
    assert await seqs(ActivityFilter(since=ended + timedelta(seconds=1))) == []
    assert await seqs(ActivityFilter(until=started - timedelta(seconds=1))) == []


async def test_an_untouched_log_verifies(store: SqlStore) -> None:
    assert (await store.verify()).is_intact
    await _log(store, 10)
    report = await store.verify()
    assert report.is_intact
    assert report.checked == 10


async def test_a_log_longer_than_one_batch_verifies_and_a_break_in_a_later_batch_is_named(
    store: SqlStore, location: Path | str
) -> None:
    await _log(store, 3)
    insert_sealed_chain(location, 2 * VERIFY_BATCH_ROWS + 7)
    await _log(store, 3)
    report = await store.verify()
    assert report.is_intact
    assert report.checked == 2 * VERIFY_BATCH_ROWS + 13

    broken = VERIFY_BATCH_ROWS + 42
    with raw_database(location) as db:
        db.execute("UPDATE activity SET actor = 'someone-else' WHERE seq = ?", (broken,))
    report = await store.verify()
    assert (report.first_broken_seq, report.checked) == (broken, broken - 1)


async def test_an_edited_row_is_named(store: SqlStore, location: Path | str) -> None:
    await _log(store, 6)
    with raw_database(location) as db:
        db.execute("""UPDATE activity SET data = replace(data, '"n":4', '"n":40') WHERE seq = 4""")
    report = await store.verify()
    assert report.first_broken_seq == 4
    assert report.checked == 3


async def test_the_effect_column_cannot_be_edited_apart_from_the_hashed_data(
    store: SqlStore, location: Path | str
) -> None:
    await _log(store, 2)
    refused = "generated column|can only be updated to DEFAULT"  # SQLite's words, PostgreSQL's
    with pytest.raises(RawError, match=refused), raw_database(location) as db:
        db.execute("UPDATE activity SET effect = 'block' WHERE seq = 2")
    assert [r.seq for r in await store.records(ActivityFilter(effect="allow"))] == [1, 2]


async def test_a_deleted_middle_row_is_named_by_the_row_after_it(
    store: SqlStore, location: Path | str
) -> None:
    await _log(store, 6)
    with raw_database(location) as db:
        db.execute("DELETE FROM activity WHERE seq = 3")
    assert (await store.verify()).first_broken_seq == 4


async def test_a_truncated_tail_is_named_by_its_first_missing_row(
    store: SqlStore, location: Path | str
) -> None:
    await _log(store, 6)
    with raw_database(location) as db:
        db.execute("DELETE FROM activity WHERE seq >= 5")
    report = await store.verify()
    assert (report.first_broken_seq, report.checked) == (5, 4)


async def test_a_log_emptied_entirely_is_named_from_its_first_row(
    store: SqlStore, location: Path | str
) -> None:
    await _log(store, 2)
    with raw_database(location) as db:
        db.execute("DELETE FROM activity")
    assert (await store.verify()).first_broken_seq == 1


async def test_reordered_rows_are_named(store: SqlStore, location: Path | str) -> None:
    await _log(store, 6)
    with raw_database(location) as db:
        db.execute("UPDATE activity SET seq = -1 WHERE seq = 3")
        db.execute("UPDATE activity SET seq = 3 WHERE seq = 4")
        db.execute("UPDATE activity SET seq = 4 WHERE seq = -1")
    assert (await store.verify()).first_broken_seq == 3


async def test_a_row_slipped_in_past_the_head_is_named(store: SqlStore, location: Path | str) -> None:
    await _log(store, 3)
    (last,) = await store.records(ActivityFilter(newest_first=True, limit=1))
    forged = seal(
        ToolCalled(source="notes", tool="delete"),
        actor="cli",
        at=datetime.now(UTC),
        seq=4,
        prev_hash=last.hash,
    )
    values = activity_values(forged)
    with raw_database(location) as db:
        db.execute(
            f"INSERT INTO activity ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
            tuple(values.values()),
        )
    assert (await store.verify()).first_broken_seq == 4


async def test_a_log_rewritten_with_fresh_hashes_is_caught_by_the_head(
    store: SqlStore, location: Path | str
) -> None:
    await _log(store, 3)
    originals = await store.records()
    prev_hash = GENESIS_HASH
    with raw_database(location) as db:
        for record in originals:
            event = ToolCalled(source="notes", tool="search", arguments={"n": -record.seq}, effect="allow")
            forged = seal(event, actor="cli", at=record.at, seq=record.seq, prev_hash=prev_hash)
            db.execute(
                "UPDATE activity SET data = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (activity_values(forged)["data"], forged.prev_hash, forged.hash, forged.seq),
            )
            prev_hash = forged.hash
    assert (await store.verify()).first_broken_seq == 3


async def test_appends_after_reopening_continue_the_chain(location: Path | str) -> None:
    async with await open_store(location) as store:
        await _log(store, 2)
    async with await open_store(location) as store:
        record = await store.append(SourceAdded(source="files"), actor="cli")
        assert record.seq == 3
        assert (await store.verify()).is_intact


async def test_the_quick_hash_of_every_stored_row_is_its_record_hash(
    store: SqlStore, location: Path | str
) -> None:
    await store.append(SourceAdded(source="notes", config={"env": {"LANG": "C"}}), actor="cli")
    await store.append(
        ToolCalled(
            source=None,
            tool=None,
            arguments={
                "text": 'naïve 🌍 "quoted" \\ \n',
                "n": 1e16,
                "when": datetime(2026, 1, 1, tzinfo=UTC),
            },
        ),
        actor="gateway:tok:1",
    )
    await store.append(ToolsChanged(source="notes", changed=("search",)), actor="source:notes")
    insert_sealed_chain(location, 2)  # whole-second timestamps: isoformat() has no microseconds
    with raw_database(location) as db:
        stored = db.execute(
            f"SELECT {', '.join(c.name for c in COLUMNS)} FROM activity ORDER BY seq"
        ).fetchall()
    assert len(stored) == 5
    for seq, at, kind, actor, source, tool, data, prev_hash, digest in stored:
        assert hash_from_text(seq, at, kind, actor, source, tool, data, prev_hash) == digest
    assert (await store.verify()).checked == 5
