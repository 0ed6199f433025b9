"""The hash chain names the first row that was changed, removed or reordered."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from tether.core.activity import GENESIS_HASH, SourceAdded, ToolCalled, arguments_for_log, seal, verify_chain
from tether.types import ActivityRecord


def chain(n: int) -> list[ActivityRecord]:
    records: list[ActivityRecord] = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        event = ToolCalled(source="s", tool="t", arguments={"i": seq}) if seq % 2 else SourceAdded(source="s")
        record = seal(event, actor="cli", at=datetime(2026, 1, 1, tzinfo=UTC), seq=seq, prev_hash=prev)
        records.append(record)
        prev = record.hash
    return records


def test_an_untouched_chain_verifies() -> None:
    report = verify_chain(chain(5))
    assert report.is_intact
    assert report.checked == 5


def test_an_edited_row_is_named() -> None:
    records = chain(5)
    records[2] = dataclasses.replace(records[2], data={**records[2].data, "arguments": {"i": 99}})
    assert verify_chain(records).first_broken_seq == 3


def test_a_removed_row_is_named() -> None:
    records = chain(5)
    del records[1]
    assert verify_chain(records).first_broken_seq == 3


def test_reordered_rows_are_named() -> None:
    records = chain(5)
    records[1], records[2] = records[2], records[1]
    assert verify_chain(records).first_broken_seq == 3


def test_a_rehashed_edit_still_breaks_the_link_to_the_next_row() -> None:
    records = chain(4)
    edited = seal(SourceAdded(source="evil"), actor="cli", at=records[1].at, seq=2, prev_hash=records[0].hash)
    records[1] = edited
    assert verify_chain(records).first_broken_seq == 3


def test_huge_arguments_are_logged_as_a_preview_and_a_hash() -> None:
    logged = arguments_for_log({"blob": "x" * 200_000})
    assert logged["truncated"] is True
    assert len(logged["sha256"]) == 64
    assert len(logged["preview"]) == 4096
