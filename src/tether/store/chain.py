"""Sealing and checking activity rows from their stored text, with ``verify_chain`` as the only judge.

A row keeps ``data`` as the canonical JSON ``record_hash`` embeds, so its hash is computed from
that text (``Unsealed``) and checked without parsing it: several times faster. A batch the check
rejects is checked again by ``tether.core.activity.verify_chain``, whose report is returned.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring  # the C encoder json.dumps(ensure_ascii=False) uses
from typing import cast

from tether.core.activity import (
    GENESIS_HASH,
    ActivityEvent,
    ActivityPruned,
    ChainReport,
    canonical_json,
    verify_chain,
)
from tether.store import rows
from tether.store.schema import activity
from tether.types import ActivityRecord, JSONObject

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

COLUMN_NAMES = tuple(column.name for column in COLUMNS)

# The Python types of COLUMNS; a tampered row may hold others, which then fail a check.
Stored = tuple[int, str, str, str, str | None, str | None, str, str, str]


@dataclass(frozen=True, slots=True)
class Position:
    """Where a verified stretch of the log ends: the last row's seq and hash."""

    seq: int
    hash: str


START = Position(seq=0, hash=GENESIS_HASH)


@dataclass(frozen=True, slots=True)
class Unsealed:
    """An event as the text its row stores, before it has a place (seq, previous hash) in the chain."""

    kind: str
    actor: str
    source: str | None
    tool: str | None
    data: JSONObject
    data_text: str

    @classmethod
    def of(cls, event: ActivityEvent, *, actor: str) -> Unsealed:
        data = event.data()
        return cls(event.kind, actor, event.source, event.tool, data, canonical_json(data))

    def seal(self, *, seq: int, prev_hash: str, at: datetime) -> tuple[ActivityRecord, Stored]:
        """The record at ``seq`` after ``prev_hash``, and its row's values in ``COLUMNS`` order."""
        digest = _hash(
            seq, at.isoformat(), self.kind, self.actor, self.source, self.tool, self.data_text, prev_hash
        )
        record = ActivityRecord(
            seq=seq,
            at=at,
            kind=self.kind,
            actor=self.actor,
            source=self.source,
            tool=self.tool,
            data=self.data,
            prev_hash=prev_hash,
            hash=digest,
        )
        stored = (
            seq,
            rows.to_text(at),
            self.kind,
            self.actor,
            self.source,
            self.tool,
            self.data_text,
            prev_hash,
            digest,
        )
        return record, stored


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


def pruned_through(batch: Sequence[rows.AnyRow], *, named: Position | None) -> Position | None:
    """Where the newest ``activity.pruned`` row in ``batch`` (else ``named``) says the log was cut."""
    for row in batch:
        if row.kind != ActivityPruned.kind:
            continue
        try:
            data = json.loads(row.data)
            named = Position(seq=int(data["through_seq"]), hash=str(data["through_hash"]))
        except (ValueError, KeyError, TypeError):
            continue  # a verified row this store wrote always parses; anything else names nothing
    return named


def compare_with_checkpoint(
    checkpoint: Position, *, named: Position | None, report: ChainReport
) -> ChainReport:
    """A log that starts after a checkpoint must hold the ``activity.pruned`` row that set it."""
    if not report.is_intact or checkpoint == START or named == checkpoint:
        return report
    problem = (
        f"the log starts after row {checkpoint.seq}, but no recorded prune removed the rows "
        "up to there: they were removed by hand"
    )
    return ChainReport(report.checked, checkpoint.seq + 1, problem)


def compare_with_head(head: Position | None, *, last: Position, checked: int) -> ChainReport:
    """Rows that verified up to ``last`` must end exactly where the head says the log ends."""
    if head is None:
        return ChainReport(checked, last.seq + 1, "the log head row is missing: the log was tampered with")
    if head.seq > last.seq:
        problem = f"rows {last.seq + 1} to {head.seq} are missing from the end of the log"
        return ChainReport(checked, last.seq + 1, problem)
    if head.seq < last.seq:
        problem = f"row {head.seq + 1} was added without moving the log head"
        return ChainReport(checked - (last.seq - head.seq), head.seq + 1, problem)
    if head.hash != last.hash:
        return ChainReport(checked - 1, last.seq, f"row {last.seq} is not the row the log head recorded")
    return ChainReport(checked)


def _all_rows_match(batch: Sequence[rows.AnyRow], after: Position) -> bool:
    expected_seq, expected_prev = after.seq + 1, after.hash
    try:
        for seq, at, kind, actor, source, tool, data, prev_hash, digest in cast(Sequence[Stored], batch):
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
    """``record_hash`` of a stored row, from its text."""
    return _hash(seq, datetime.fromisoformat(at).isoformat(), kind, actor, source, tool, data, prev_hash)


def _hash(
    seq: int, at: str, kind: str, actor: str, source: str | None, tool: str | None, data: str, prev_hash: str
) -> str:
    # record_hash's canonical JSON, written out: its keys sorted, ``data`` already canonical.
    body = (
        f'{{"actor":{encode_basestring(actor)},'
        f'"at":{encode_basestring(at)},'
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
