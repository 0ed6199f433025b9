"""The activity log in the database: ``ActivityStore``.

Rows are only inserted, each sealed onto the previous row's hash in the transaction that moves
``activity_head`` (on SQLite on the lane, grouped). ``prune`` removes the oldest rows once they
verify and records in ``activity_checkpoint`` where the chain now starts; ``verify`` starts there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from tether.core.activity import ActivityEvent, ActivityPruned, ChainReport
from tether.core.storage import ActivityFilter
from tether.errors import ChainBroken, StoreError, UsageError
from tether.store import chain, rows
from tether.store.chain import Position, Unsealed
from tether.store.engine import Database
from tether.store.hotpath import GroupCommit
from tether.store.schema import activity, activity_checkpoint, activity_head
from tether.types import ActivityRecord

_HEAD = activity_head.c.id == 1
_EVERYTHING = ActivityFilter()
_NO_HEAD = "the activity log head row is missing: run `tether activity verify`"


class ActivityRepository:
    _db: Database
    _appends: GroupCommit[Unsealed, ActivityRecord] | None

    async def append(self, event: ActivityEvent, *, actor: str) -> ActivityRecord:
        row = Unsealed.of(event, actor=actor)
        if self._appends is not None:
            return await self._appends.write(row)

        def write(conn: sa.Connection) -> ActivityRecord:
            return _append_in(conn, row, after=_head(conn, for_update=True))

        return await self._db.write(write)

    async def records(self, query: ActivityFilter = _EVERYTHING) -> Sequence[ActivityRecord]:
        """Matching rows by seq; ``since`` is inclusive and ``until`` exclusive."""
        column = activity.c
        statement = sa.select(activity).where(column.seq > query.after_seq)
        if query.before_seq is not None:
            statement = statement.where(column.seq < query.before_seq)
        for name, value in (
            ("source", query.source),
            ("tool", query.tool),
            ("kind", query.kind),
            ("effect", query.effect),
        ):
            if value is not None:
                statement = statement.where(column[name] == value)
        if query.since is not None:
            statement = statement.where(column.at >= rows.to_text(query.since))
        if query.until is not None:
            statement = statement.where(column.at < rows.to_text(query.until))
        statement = statement.order_by(column.seq.desc() if query.newest_first else column.seq)
        if query.limit is not None:
            statement = statement.limit(query.limit)
        return await self._db.read(
            lambda conn: [rows.activity_from_row(row) for row in conn.execute(statement)]
        )

    async def verify(self) -> ChainReport:
        """Check every row's hash, link and seq from the checkpoint on, then that the last row is the head."""
        # One snapshot for the head and all rows, so concurrent appends look absent, not broken.
        return await self._db.read(_verify, snapshot=True)

    async def prune(
        self, *, older_than: datetime | None = None, keep_rows: int | None = None, actor: str
    ) -> ActivityRecord | None:
        """Remove the oldest rows: those before ``older_than`` and all but the newest ``keep_rows``.

        Only a stretch that verifies is removed (else ``ChainBroken``). The prune is recorded
        as an ``activity.pruned`` row, which is returned; None when there was nothing to remove.
        """
        if older_than is None and keep_rows is None:
            raise UsageError("say which rows to prune: by age (--older-than) or by count (--keep-rows)")
        if keep_rows is not None and keep_rows < 0:
            raise UsageError(f"--keep-rows takes a count of rows, not {keep_rows}")
        return await self._db.write(lambda conn: _prune(conn, older_than, keep_rows, actor))


def append_batch(conn: sqlite3.Connection, batch: list[Unsealed]) -> list[ActivityRecord]:
    """The lane's append: seal ``batch`` after the head and move the head, in the caller's transaction."""
    head = conn.execute("SELECT seq, hash FROM activity_head WHERE id = 1").fetchone()
    if head is None:
        raise StoreError(_NO_HEAD)
    seq, prev_hash = head
    records: list[ActivityRecord] = []
    stored: list[chain.Stored] = []
    for row in batch:
        seq += 1
        record, values = row.seal(seq=seq, prev_hash=prev_hash, at=rows.now())
        records.append(record)
        stored.append(values)
        prev_hash = record.hash
    conn.executemany(_INSERT, stored)
    conn.execute("UPDATE activity_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev_hash))
    return records


_INSERT = (
    f"INSERT INTO activity ({', '.join(chain.COLUMN_NAMES)}) "
    f"VALUES ({', '.join('?' * len(chain.COLUMN_NAMES))})"
)


def _append_in(conn: sa.Connection, row: Unsealed, *, after: Position) -> ActivityRecord:
    record, values = row.seal(seq=after.seq + 1, prev_hash=after.hash, at=rows.now())
    conn.execute(sa.insert(activity).values(dict(zip(chain.COLUMN_NAMES, values, strict=True))))
    conn.execute(sa.update(activity_head).where(_HEAD).values(seq=record.seq, hash=record.hash))
    return record


def _head(conn: sa.Connection, *, for_update: bool = False) -> Position:
    query = sa.select(activity_head.c.seq, activity_head.c.hash).where(_HEAD)
    # FOR UPDATE locks the head on PostgreSQL; on SQLite the write transaction holds the lock already.
    head = conn.execute(query.with_for_update() if for_update else query).first()
    if head is None:
        raise StoreError(_NO_HEAD)
    return Position(seq=head.seq, hash=head.hash)


def _checkpoint(conn: sa.Connection) -> Position:
    """Where the chain starts: after the last pruned row, or at the beginning."""
    newest = conn.execute(
        sa.select(activity_checkpoint.c.seq, activity_checkpoint.c.hash)
        .order_by(activity_checkpoint.c.seq.desc())
        .limit(1)
    ).first()
    return Position(seq=newest.seq, hash=newest.hash) if newest is not None else chain.START


def _verify(conn: sa.Connection) -> ChainReport:
    head_row = conn.execute(sa.select(activity_head.c.seq, activity_head.c.hash).where(_HEAD)).first()
    head = Position(seq=head_row.seq, hash=head_row.hash) if head_row is not None else None
    start = _checkpoint(conn)
    result = conn.execution_options(yield_per=chain.VERIFY_BATCH_ROWS).execute(
        sa.select(*chain.COLUMNS).order_by(activity.c.seq)
    )
    last, checked, named = start, 0, None
    for batch in result.partitions():
        report = chain.check_batch(batch, after=last)
        if not report.is_intact:
            return ChainReport(checked + report.checked, report.first_broken_seq, report.problem)
        named = chain.pruned_through(batch, named=named)
        checked += report.checked
        last = Position(seq=batch[-1].seq, hash=batch[-1].hash)
    report = chain.compare_with_head(head, last=last, checked=checked)
    return chain.compare_with_checkpoint(start, named=named, report=report)


def _prune(
    conn: sa.Connection, older_than: datetime | None, keep_rows: int | None, actor: str
) -> ActivityRecord | None:
    head = _head(conn, for_update=True)
    start = _checkpoint(conn)
    cut = start.seq
    if keep_rows is not None:
        cut = max(cut, head.seq - keep_rows)
    if older_than is not None:
        # Only a prefix can go: rows up to the first one that is not old (clocks can go backwards).
        first_kept = conn.scalar(
            sa.select(sa.func.min(activity.c.seq)).where(
                activity.c.seq > start.seq, activity.c.at >= rows.to_text(older_than)
            )
        )
        cut = max(cut, head.seq if first_kept is None else first_kept - 1)
    cut = min(cut, head.seq)
    if cut <= start.seq:
        return None
    through = _verified_through(conn, start, cut)
    conn.execute(sa.delete(activity).where(activity.c.seq <= cut))
    removed = cut - start.seq
    conn.execute(
        sa.insert(activity_checkpoint).values(
            seq=through.seq, hash=through.hash, at=rows.to_text(rows.now()), removed=removed
        )
    )
    event = ActivityPruned(
        removed=removed,
        through_seq=through.seq,
        through_hash=through.hash,
        older_than=rows.to_text(older_than) if older_than is not None else None,
        keep_rows=keep_rows,
    )
    return _append_in(conn, Unsealed.of(event, actor=actor), after=head)


def _verified_through(conn: sa.Connection, start: Position, cut: int) -> Position:
    """Check rows up to ``cut``: removing a stretch that does not verify would destroy the evidence."""
    result = conn.execution_options(yield_per=chain.VERIFY_BATCH_ROWS).execute(
        sa.select(*chain.COLUMNS).where(activity.c.seq <= cut).order_by(activity.c.seq)
    )
    last = start
    for batch in result.partitions():
        report = chain.check_batch(batch, after=last)
        if not report.is_intact:
            raise _refused(report.first_broken_seq, report.problem)
        last = Position(seq=batch[-1].seq, hash=batch[-1].hash)
    if last.seq != cut:
        raise _refused(last.seq + 1, f"rows {last.seq + 1} to {cut} are missing")
    return last


def _refused(seq: int | None, problem: str) -> ChainBroken:
    return ChainBroken(
        f"the activity log is broken at row {seq}: {problem}; nothing was pruned, so the broken "
        "rows stay for `tether activity verify` and an export to show"
    )
