"""A call may leave its approval stored and come back for it: ``defer_approval`` and ``approval_id``."""

from __future__ import annotations

import anyio
import pytest

from tests.fakes import FakeSource, MemoryStore
from tether.core.approvals import ApprovalDeferred
from tether.core.host import Host
from tether.errors import ApprovalDenied, Conflict
from tether.types import ActivityRecord, Actor, Effect, Verdict

ME = Actor("chat", "c1")


async def test_a_deferred_call_stores_its_approval_and_runs_once_after_the_verdict() -> None:
    store, source = MemoryStore(), FakeSource.echo("notes")
    async with Host(store) as host:
        await host.add_source(source)
        with pytest.raises(ApprovalDeferred) as deferred:
            await host.call_tool(ME, "notes__echo", {"text": "hi"}, defer_approval=True)
        request = deferred.value.request
        assert [a.request.id for a in await store.pending_approvals()] == [request.id]
        assert source.calls == []

        await store.resolve_approval(request.id, Verdict.APPROVED_ONCE, "web")
        seen: list[ActivityRecord] = []
        result = await host.call_tool(
            ME, "notes__echo", {"text": "hi"}, approval_id=request.id, on_record=seen.append
        )

    assert result.text == "hi"
    assert source.calls == [("echo", {"text": "hi"})]
    assert [r.kind for r in seen] == ["approval.resolved", "tool.called"]
    assert (seen[1].data["verdict"], seen[1].data["outcome"]) == ("approved_once", "ok")


async def test_waiting_on_a_stored_approval_and_being_cancelled_leaves_it_pending() -> None:
    store = MemoryStore()
    async with Host(store) as host:
        await host.add_source(FakeSource.echo("notes"))
        with pytest.raises(ApprovalDeferred) as deferred:
            await host.call_tool(ME, "notes__echo", {"text": "hi"}, defer_approval=True)
        approval_id = deferred.value.request.id
        with anyio.move_on_after(0.05):
            await host.call_tool(ME, "notes__echo", {"text": "hi"}, approval_id=approval_id)
        assert (await store.get_approval(approval_id)).verdict is None

        async with anyio.create_task_group() as tg:
            tg.start_soon(store.resolve_approval, approval_id, Verdict.DENIED, "web")
            with pytest.raises(ApprovalDenied):
                await host.call_tool(ME, "notes__echo", {"text": "hi"}, approval_id=approval_id)


async def test_an_approval_cannot_be_used_for_another_call() -> None:
    store = MemoryStore()
    async with Host(store) as host:
        await host.add_source(FakeSource.echo("notes"))
        with pytest.raises(ApprovalDeferred) as deferred:
            await host.call_tool(ME, "notes__echo", {"text": "hi"}, defer_approval=True)
        await store.resolve_approval(deferred.value.request.id, Verdict.APPROVED_ONCE, "web")
        approval_id = deferred.value.request.id
        with pytest.raises(Conflict):
            await host.call_tool(ME, "notes__echo", {"text": "other"}, approval_id=approval_id)
        with pytest.raises(Conflict):
            await host.call_tool(Actor("chat", "c2"), "notes__echo", {"text": "hi"}, approval_id=approval_id)


async def test_when_the_policy_changed_meanwhile_it_decides_and_the_approval_is_moot() -> None:
    store, source = MemoryStore(), FakeSource.echo("notes")
    async with Host(store) as host:
        await host.add_source(source)
        with pytest.raises(ApprovalDeferred) as deferred:
            await host.call_tool(ME, "notes__echo", {"text": "hi"}, defer_approval=True)
        await host.set_policy(ME, await host.resolve("notes__echo"), Effect.ALLOW)
        await host.call_tool(ME, "notes__echo", {"text": "hi"}, approval_id=deferred.value.request.id)

    stored = await store.get_approval(deferred.value.request.id)
    assert (stored.verdict, stored.decided_by) == (Verdict.EXPIRED, "policy")
    assert len(source.calls) == 1
