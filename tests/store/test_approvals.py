"""Approvals are stored whole and resolved exactly once, whoever and wherever the deciders are."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

from tether.core.approvals import await_verdict
from tether.errors import AlreadyExists, UnknownApproval
from tether.store import SqlStore, open_store
from tether.types import ApprovalRequest, Verdict

from .samples import DELETE, approval_request


async def test_a_created_approval_reads_back_pending_and_equal(store: SqlStore) -> None:
    request = approval_request()
    await store.create_approval(request)
    stored = await store.get_approval("a1")
    assert stored.request == request
    assert (stored.verdict, stored.decided_by, stored.decided_at) == (None, None, None)


async def test_creating_an_approval_id_twice_is_already_exists(store: SqlStore) -> None:
    await store.create_approval(approval_request())
    with pytest.raises(AlreadyExists):
        await store.create_approval(approval_request())


async def test_resolving_records_the_verdict_who_and_when(store: SqlStore) -> None:
    await store.create_approval(approval_request())
    before = datetime.now(UTC)
    assert await store.resolve_approval("a1", Verdict.ALWAYS_ALLOWED, "web:alice") is True
    stored = await store.get_approval("a1")
    assert stored.verdict is Verdict.ALWAYS_ALLOWED
    assert stored.decided_by == "web:alice"
    assert stored.decided_at is not None
    assert before <= stored.decided_at <= datetime.now(UTC) + timedelta(seconds=1)


async def test_a_second_resolve_loses_and_changes_nothing(store: SqlStore) -> None:
    await store.create_approval(approval_request())
    assert await store.resolve_approval("a1", Verdict.DENIED, "cli") is True
    assert await store.resolve_approval("a1", Verdict.APPROVED_ONCE, "web:bob") is False
    stored = await store.get_approval("a1")
    assert (stored.verdict, stored.decided_by) == (Verdict.DENIED, "cli")


async def test_two_concurrent_resolves_from_two_stores_have_exactly_one_winner(
    store: SqlStore, location: Path | str
) -> None:
    winners: dict[str, list[str]] = {}

    async def decide(on: SqlStore, verdict: Verdict, who: str, approval_id: str) -> None:
        if await on.resolve_approval(approval_id, verdict, who):
            winners.setdefault(approval_id, []).append(who)

    async with await open_store(location) as other:
        for n in range(20):
            approval_id = f"race-{n}"
            await store.create_approval(approval_request(approval_id))
            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(decide, store, Verdict.APPROVED_ONCE, "first", approval_id)
                    tg.start_soon(decide, other, Verdict.DENIED, "second", approval_id)
            assert len(winners[approval_id]) == 1
            assert (await other.get_approval(approval_id)).decided_by == winners[approval_id][0]


async def test_an_unknown_approval_cannot_be_read_resolved_or_awaited(store: SqlStore) -> None:
    with pytest.raises(UnknownApproval) as caught:
        await store.get_approval("nope")
    assert caught.value.code == "unknown_approval"
    with pytest.raises(UnknownApproval):
        await store.resolve_approval("nope", Verdict.DENIED, "cli")
    with anyio.fail_after(5), pytest.raises(UnknownApproval):
        await store.wait_for_verdict("nope")


async def test_pending_approvals_lists_only_undecided_ones_oldest_first(store: SqlStore) -> None:
    older = approval_request("z-older")
    newer = dataclasses.replace(
        approval_request("a-newer", DELETE), requested_at=older.requested_at + timedelta(minutes=1)
    )
    await store.create_approval(newer)
    await store.create_approval(older)
    await store.create_approval(approval_request("decided"))
    await store.resolve_approval("decided", Verdict.DENIED, "cli")
    assert [p.request for p in await store.pending_approvals()] == [older, newer]


async def test_waiting_returns_the_verdict_another_store_sets(store: SqlStore, location: Path | str) -> None:
    await store.create_approval(approval_request())
    seen: list[Verdict] = []

    async def wait() -> None:
        seen.append(await store.wait_for_verdict("a1"))

    async with await open_store(location) as other:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(wait)
                await anyio.wait_all_tasks_blocked()
                await other.resolve_approval("a1", Verdict.APPROVED_ONCE, "web:alice")
    assert seen == [Verdict.APPROVED_ONCE]


async def test_waiting_for_a_verdict_stops_when_cancelled(store: SqlStore) -> None:
    await store.create_approval(approval_request())
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(store.wait_for_verdict, "a1")
            await anyio.wait_all_tasks_blocked()
            tg.cancel_scope.cancel()
    assert (await store.get_approval("a1")).verdict is None


async def test_the_core_approval_race_runs_on_the_sql_store(store: SqlStore) -> None:
    class Approve:
        name = "web:alice"

        async def decide(self, request: ApprovalRequest) -> Verdict:
            return Verdict.APPROVED_ONCE

    with anyio.fail_after(10):
        outcome = await await_verdict(store, approval_request(), [Approve()], timeout_s=60)
    assert outcome == (Verdict.APPROVED_ONCE, "web:alice")
    assert (await store.get_approval("a1")).decided_by == "web:alice"
