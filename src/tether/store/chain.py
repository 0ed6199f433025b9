"""Checking the stored activity chain quickly, with ``verify_chain`` as the only judge.

Every row this store writes keeps ``data`` as the canonical JSON that ``record_hash``
embeds, so a row's hash can be recomputed from its stored text without parsing it: several
times faster. A batch where that shortcut disagrees is checked again by
``tether.core.activity.verify_chain``, and that report is the one returned; so a change to
``record_hash`` can only make verifying slower, never wrong.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring  # the C encoder json.dumps(ensure_ascii=False) uses
from typing import cast

from tether.core.activity import GENESIS_HASH, ChainReport, verify_chain
from tether.store import rows
from tether.store.schema import activity
from tether.types import ActivityRecord

VERIFY_BATCH_ROWS = 2_000
COLUMNS = (
    activity.c.seq,
    activity.c.at,
    activity.c.kind,
    activity.c.actor,
    activity.c.source,
    activity.c.tool,
    activity.c.data,
    activity.c.prev_hash,
    activity.c.hash,
)

# The Python types of COLUMNS; a tampered row may hold others, which then fail a check.
_Stored = tuple[int, str, str, str, str | None, str | None, str, str, str]


@dataclass(frozen=True, slots=True)
class Position:
    """Where a verified stretch of the log ends: the last row's seq and hash."""

    seq: int
    hash: str


START = Position(seq=0, hash=GENESIS_HASH)


def check_batch(batch: Sequence[rows.AnyRow], *, after: Position) -> ChainReport:
    """Check rows selected as ``COLUMNS``, in seq order, that should follow ``after``."""
    if _all_rows_match(batch, after):
        return ChainReport(len(batch))
    records: list[ActivityRecord] = []
    for row in batch:
        try:
            records.append(rows.activity_from_row(row))
        except (ValueError, TypeError):
            report = verify_chain(records, start_hash=after.hash, start_seq=after.seq + 1)
            if not report.is_intact:
                return report
            problem = f"row {row.seq} cannot be read back: it was changed after it was written"
            return ChainReport(report.checked, row.seq, problem)
    return verify_chain(records, start_hash=after.hash, start_seq=after.seq + 1)


def compare_with_head(head: Position | None, *, last: Position, checked: int) -> ChainReport:
    """Rows that verified up to ``last`` must end exactly where the head says the log ends."""
    if head is None:
        return ChainReport(checked, last.seq + 1, "the log head row is missing: the log was tampered with")
    if head.seq > last.seq:
        problem = f"rows {last.seq + 1} to {head.seq} are missing from the end of the log"
        return ChainReport(checked, last.seq + 1, problem)
    if head.seq < last.seq:
        return ChainReport(
            head.seq, head.seq + 1, f"row {head.seq + 1} was added without moving the log head"
        )
    if head.hash != last.hash:
        return ChainReport(checked - 1, last.seq, f"row {last.seq} is not the row the log head recorded")
    return ChainReport(checked)


def _all_rows_match(batch: Sequence[rows.AnyRow], after: Position) -> bool:
    expected_seq, expected_prev = after.seq + 1, after.hash
    try:
        for seq, at, kind, actor, source, tool, data, prev_hash, digest in cast(Sequence[_Stored], batch):
            if seq != expected_seq or prev_hash != expected_prev:
                return False
            if hash_from_text(seq, at, kind, actor, source, tool, data, prev_hash) != digest:
                return False
            expected_seq, expected_prev = seq + 1, digest
    except (ValueError, TypeError):
        return False
    return True


def hash_from_text(
    seq: int, at: str, kind: str, actor: str, source: str | None, tool: str | None, data: str, prev_hash: str
) -> str:
    """``record_hash`` of a stored row, from its text: canonical JSON has its keys in this order."""
    body = (
        f'{{"actor":{encode_basestring(actor)},'
        f'"at":{encode_basestring(datetime.fromisoformat(at).isoformat())},'
        f'"data":{data},'
        f'"kind":{encode_basestring(kind)},'
        f'"prev":{encode_basestring(prev_hash)},'
        f'"seq":{int(seq)},'
        f'"source":{_json_or_null(source)},'
        f'"tool":{_json_or_null(tool)}}}'
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _json_or_null(text: str | None) -> str:
    return "null" if text is None else encode_basestring(text)
