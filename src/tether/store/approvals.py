"""Approvals in the database: ``ApprovalStore``.

``resolve_approval`` is a single conditional UPDATE (only while the verdict is NULL), so
of several deciders in any number of processes exactly one wins. ``wait_for_verdict``
polls because another process may decide, and wakes at once when this process decides or a
relay says another one did (``verdicts``); it must not hold a transaction while it waits.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tether.core.storage import StoredApproval
from tether.errors import AlreadyExists, UnknownApproval
from tether.store import rows
from tether.store.engine import Database
from tether.store.schema import approvals
from tether.store.verdicts import VerdictSignals
from tether.types import ApprovalRequest, Verdict


def _unknown(approval_id: str) -> UnknownApproval:
    return UnknownApproval(f"no approval with id '{approval_id}': see `tether approvals` for pending ones")


def _exists(approval_id: str) -> AlreadyExists:
    return AlreadyExists(f"an approval with id '{approval_id}' exists already")


class ApprovalRepository:
    _db: Database
    verdicts: VerdictSignals

    async def create_approval(self, request: ApprovalRequest) -> None:
        values = rows.approval_values(request)

        def write(conn: sa.Connection) -> None:
            if conn.scalar(sa.select(approvals.c.id).where(approvals.c.id == request.id)) is not None:
                raise _exists(request.id)
            try:
                conn.execute(sa.insert(approvals).values(values))
            except IntegrityError as error:  # another process won a race the check could not see
                raise _exists(request.id) from error

        await self._db.write(write)

    async def resolve_approval(self, approval_id: str, verdict: Verdict, decided_by: str) -> bool:
        """Set the verdict if the approval is still pending; False when it was decided already."""
        statement = (
            sa.update(approvals)
            .where(approvals.c.id == approval_id, approvals.c.verdict.is_(None))
            .values(verdict=verdict.value, decided_by=decided_by, decided_at=rows.to_text(rows.now()))
        )

        def write(conn: sa.Connection) -> bool:
            if conn.execute(statement).rowcount == 1:
                return True
            if conn.scalar(sa.select(approvals.c.id).where(approvals.c.id == approval_id)) is None:
                raise _unknown(approval_id)
            return False

        is_mine = await self._db.write(write)
        if is_mine:
            self.verdicts.decided(approval_id)
        return is_mine

    async def get_approval(self, approval_id: str) -> StoredApproval:
        query = sa.select(approvals).where(approvals.c.id == approval_id)
        row = await self._db.read(lambda conn: conn.execute(query).first())
        if row is None:
            raise _unknown(approval_id)
        return rows.approval_from_row(row)

    async def pending_approvals(self) -> Sequence[StoredApproval]:
        """Undecided approvals, oldest first."""
        query = (
            sa.select(approvals)
            .where(approvals.c.verdict.is_(None))
            .order_by(approvals.c.requested_at, approvals.c.id)
        )
        return await self._db.read(lambda conn: [rows.approval_from_row(row) for row in conn.execute(query)])

    async def wait_for_verdict(self, approval_id: str) -> Verdict:
        """Return once the approval is decided, by this process or another one; cancel to stop."""
        query = sa.select(approvals.c.verdict).where(approvals.c.id == approval_id)
        while True:
            # Listening before reading: a wake-up between the read and the wait is not lost.
            with self.verdicts.waiting(approval_id) as waiter:
                row = await self._db.read(lambda conn: conn.execute(query).first())
                if row is None:
                    raise _unknown(approval_id)
                if row.verdict is not None:
                    return Verdict(row.verdict)
                await waiter.sleep(self.verdicts.poll_interval_s)
