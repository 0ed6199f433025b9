"""The activity log in the database: ``ActivityStore``.

Rows are only ever inserted, each sealed onto the previous row's hash in the same write
transaction that moves ``activity_head``. Order is by ``seq``, never by time. ``verify``
streams the log in batches (``chain.py`` checks them) so a long log never sits in memory.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from tether.core.activity import ActivityEvent, ChainReport, seal
from tether.core.storage import ActivityFilter
from tether.store import chain, rows
from tether.store.engine import Database
from tether.store.schema import activity, activity_head
from tether.types import ActivityRecord

_HEAD = activity_head.c.id == 1
_EVERYTHING = ActivityFilter()


class ActivityRepository:
    _db: Database

    async def append(self, event: ActivityEvent, *, actor: str) -> ActivityRecord:
        async with self._db.write() as conn:
            head = (
                await conn.execute(
                    sa.select(activity_head.c.seq, activity_head.c.hash).where(_HEAD).with_for_update()
                )
            ).one()
            record = seal(event, actor=actor, at=rows.now(), seq=head.seq + 1, prev_hash=head.hash)
            await conn.execute(sa.insert(activity).values(rows.activity_values(record)))
            await conn.execute(sa.update(activity_head).where(_HEAD).values(seq=record.seq, hash=record.hash))
        return record

    async def records(self, query: ActivityFilter = _EVERYTHING) -> Sequence[ActivityRecord]:
        """Matching rows by seq; ``since`` is inclusive and ``until`` exclusive."""
        column = activity.c
        statement = sa.select(activity).where(column.seq > query.after_seq)
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
        async with self._db.read() as conn:
            result = await conn.execute(statement)
            return [rows.activity_from_row(row) for row in result]

    async def verify(self) -> ChainReport:
        """Check every row's hash, link and seq in seq order, then that the last row is the head."""
        async with self._db.read() as conn:
            if not self._db.is_sqlite:
                # One snapshot for the head and all rows, so concurrent appends look absent, not broken.
                conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            head_row = (
                await conn.execute(sa.select(activity_head.c.seq, activity_head.c.hash).where(_HEAD))
            ).first()
            head = chain.Position(seq=head_row.seq, hash=head_row.hash) if head_row is not None else None
            result = await conn.stream(
                sa.select(*chain.COLUMNS)
                .order_by(activity.c.seq)
                .execution_options(yield_per=chain.VERIFY_BATCH_ROWS)
            )
            last, checked = chain.START, 0
            async for batch in result.partitions():
                report = chain.check_batch(batch, after=last)
                if not report.is_intact:
                    return ChainReport(checked + report.checked, report.first_broken_seq, report.problem)
                checked += report.checked
                last = chain.Position(seq=batch[-1].seq, hash=batch[-1].hash)
        return chain.compare_with_head(head, last=last, checked=checked)
