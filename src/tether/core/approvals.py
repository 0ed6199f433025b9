"""Approvals: a pending human decision on one call, stored server-side, resolved once.

Every approver (the CLI prompt, the web UI, a gateway client) races to decide; the store's
compare-and-set picks the single winner, so a second click is told it came too late. A
decision made by another process is seen through ``ApprovalStore.wait_for_verdict``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import anyio

from tether.core.storage import ApprovalStore
from tether.types import ApprovalRequest, Verdict


class ApprovalDeferred(Exception):
    """Signal from ``Host.call_tool(..., defer_approval=True)``: the call needs an approval,
    which is now stored as pending. Call again with ``approval_id=request.id`` to wait for its
    verdict (or use the one given meanwhile) and run the call; that may be after a restart."""

    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__(f"the call to '{request.tool.qualified_name}' waits for approval {request.id}")
        self.request = request


class Approver(Protocol):
    """Asks a person about one call. May wait as long as it likes: it is cancelled when
    someone else decides first or the approval expires."""

    @property
    def name(self) -> str: ...

    async def decide(self, request: ApprovalRequest) -> Verdict: ...


async def await_verdict(
    store: ApprovalStore,
    request: ApprovalRequest,
    approvers: Sequence[Approver],
    *,
    timeout_s: float,
    on_pending: Callable[[], None] | None = None,
    is_stored: bool = False,
) -> tuple[Verdict, str]:
    """Store ``request``, let every approver and the store race, return (verdict, decided_by).

    With ``is_stored`` the request was stored earlier (see ``ApprovalDeferred``): it is not
    stored again, and it stays pending when this wait is cancelled, for a later wait to pick up.
    """
    if not is_stored:
        await store.create_approval(request)
    if on_pending is not None:
        on_pending()
    outcome: list[tuple[Verdict, str]] = []
    try:
        await _race(store, request, approvers, timeout_s, outcome)
    except anyio.get_cancelled_exc_class():
        if not is_stored:
            # The caller went away: nobody is waiting for this decision any more.
            with anyio.CancelScope(shield=True):
                await store.resolve_approval(request.id, Verdict.EXPIRED, "cancelled")
        raise
    return outcome[0]


async def _race(
    store: ApprovalStore,
    request: ApprovalRequest,
    approvers: Sequence[Approver],
    timeout_s: float,
    outcome: list[tuple[Verdict, str]],
) -> None:
    async with anyio.create_task_group() as tg:

        async def ask(approver: Approver) -> None:
            verdict = await approver.decide(request)
            if await store.resolve_approval(request.id, verdict, approver.name):
                outcome.append((verdict, approver.name))
                tg.cancel_scope.cancel()
            # Lost the race: the store watcher below reports the winner.

        async def watch() -> None:
            verdict = await store.wait_for_verdict(request.id)
            stored = await store.get_approval(request.id)
            outcome.append((verdict, stored.decided_by or "unknown"))
            tg.cancel_scope.cancel()

        async def expire() -> None:
            await anyio.sleep(timeout_s)
            if await store.resolve_approval(request.id, Verdict.EXPIRED, "timeout"):
                outcome.append((Verdict.EXPIRED, "timeout"))
                tg.cancel_scope.cancel()

        for approver in approvers:
            tg.start_soon(ask, approver)
        tg.start_soon(watch)
        tg.start_soon(expire)
