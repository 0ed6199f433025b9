"""The one call path: resolve -> validate -> decide -> ask -> call -> record."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import anyio
import anyio.lowlevel
import pytest

from tests.fakes import FakeSource, MemoryStore, ScriptedApprover, SilentApprover, text_result
from tether.core.host import Host
from tether.errors import (
    ApprovalDenied,
    ApprovalExpired,
    InvalidArguments,
    SourceUnavailable,
    ToolBlocked,
    UnknownTool,
)
from tether.types import JSON, ActivityRecord, Actor, Effect, ToolDef, ToolResult, Verdict

ME = Actor("cli", "test")


@pytest.fixture
async def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
async def host(store: MemoryStore) -> AsyncIterator[Host]:
    async with Host(store, approval_timeout_s=5) as host:
        await host.add_source(FakeSource.echo("notes"))
        yield host


async def test_new_tool_starts_at_ask(host: Host) -> None:
    decision = await host.decide(await host.resolve("notes__echo"))
    assert decision.effect is Effect.ASK
    assert decision.rule == "default"


async def test_tools_are_named_with_their_source_prefix(host: Host) -> None:
    assert [t.qualified_name for t in await host.tools()] == ["notes__echo"]


async def test_a_bare_name_resolves_when_only_one_source_has_it(host: Host) -> None:
    assert (await host.resolve("echo")).qualified_name == "notes__echo"


async def test_a_bare_name_shared_by_two_sources_is_ambiguous(host: Host) -> None:
    await host.add_source(FakeSource.echo("other"))
    with pytest.raises(UnknownTool) as caught:
        await host.resolve("echo")
    assert "notes__echo" in caught.value.message


async def test_unknown_tool_is_refused_with_unknown_tool(host: Host) -> None:
    with pytest.raises(UnknownTool):
        await host.call_tool(ME, "notes__nope", {})


async def test_arguments_failing_the_schema_are_refused_before_asking(host: Host, store: MemoryStore) -> None:
    approver = ScriptedApprover(Verdict.APPROVED_ONCE)
    host.approvers.append(approver)
    with pytest.raises(InvalidArguments):
        await host.call_tool(ME, "notes__echo", {"text": 3})
    assert approver.seen == []
    assert store.activity[-1].data["outcome"] == "invalid"


async def test_allowed_tool_runs_and_is_recorded(host: Host, store: MemoryStore) -> None:
    await host.set_policy(ME, await host.resolve("notes__echo"), Effect.ALLOW)
    result = await host.call_tool(ME, "notes__echo", {"text": "hi"})
    assert result.text == "hi"
    called = store.activity[-1]
    assert (called.kind, called.source, called.tool) == ("tool.called", "notes", "echo")
    assert called.data["outcome"] == "ok"
    assert called.data["arguments"] == {"text": "hi"}
    assert called.actor == "cli:test"


async def test_blocked_tool_never_reaches_the_source(host: Host, store: MemoryStore) -> None:
    await host.set_policy(ME, await host.resolve("notes__echo"), Effect.BLOCK)
    with pytest.raises(ToolBlocked):
        await host.call_tool(ME, "notes__echo", {"text": "hi"})
    assert store.activity[-1].data["outcome"] == "refused"


async def test_approved_once_runs_and_asks_again_next_time(host: Host, store: MemoryStore) -> None:
    approver = ScriptedApprover(Verdict.APPROVED_ONCE, Verdict.DENIED)
    host.approvers.append(approver)
    assert (await host.call_tool(ME, "notes__echo", {"text": "a"})).text == "a"
    with pytest.raises(ApprovalDenied):
        await host.call_tool(ME, "notes__echo", {"text": "b"})
    assert [r.kind for r in store.activity] == [
        "tools.changed",
        "approval.resolved",
        "tool.called",
        "approval.resolved",
        "tool.called",
    ]
    assert store.activity[-1].data["verdict"] == "denied"


async def test_always_allow_sets_the_policy(host: Host, store: MemoryStore) -> None:
    host.approvers.append(ScriptedApprover(Verdict.ALWAYS_ALLOWED))
    await host.call_tool(ME, "notes__echo", {"text": "a"})
    assert store.effects[("notes", "echo")] is Effect.ALLOW
    await host.call_tool(ME, "notes__echo", {"text": "b"})  # the approver has no verdicts left


async def test_an_unanswered_approval_expires_with_a_clear_error(store: MemoryStore) -> None:
    async with Host(store, approvers=[SilentApprover()], approval_timeout_s=0.05) as host:
        await host.add_source(FakeSource.echo())
        with pytest.raises(ApprovalExpired):
            await host.call_tool(ME, "fake__echo", {"text": "a"})
    (approval,) = store.approvals.values()
    assert approval.verdict is Verdict.EXPIRED


async def test_a_decision_stored_by_someone_else_releases_the_call(store: MemoryStore) -> None:
    async with Host(store, approvers=[SilentApprover()], approval_timeout_s=5) as host:
        await host.add_source(FakeSource.echo())
        results: list[ToolResult] = []
        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: _collect(host, results))
                while not store.approvals:
                    await anyio.lowlevel.checkpoint()
                (approval_id,) = store.approvals
                assert await store.resolve_approval(approval_id, Verdict.APPROVED_ONCE, "web:alice")
        assert results[0].text == "x"
        assert store.activity[-2].data["decided_by"] == "web:alice"


async def test_concurrent_approvals_are_independent(store: MemoryStore) -> None:
    async with Host(store, approvers=[SilentApprover()], approval_timeout_s=5) as host:
        await host.add_source(FakeSource.echo())
        outcomes: dict[str, str] = {}

        async def call(text: str) -> None:
            try:
                outcomes[text] = (await host.call_tool(ME, "fake__echo", {"text": text})).text
            except ApprovalDenied:
                outcomes[text] = "denied"

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(call, "one")
                tg.start_soon(call, "two")
                while len(store.approvals) < 2:
                    await anyio.lowlevel.checkpoint()
                for approval_id, stored in store.approvals.items():
                    verdict = (
                        Verdict.DENIED if stored.request.arguments["text"] == "one" else Verdict.APPROVED_ONCE
                    )
                    await store.resolve_approval(approval_id, verdict, "test")
        assert outcomes == {"one": "denied", "two": "two"}


async def test_a_failing_source_is_recorded_and_raised(store: MemoryStore) -> None:
    async def broken(arguments: Mapping[str, JSON]) -> ToolResult:
        raise SourceUnavailable("source 'flaky' is down")

    async with Host(store) as host:
        await host.add_source(FakeSource("flaky", {"go": (ToolDef("go"), broken)}), skip_approvals=True)
        with pytest.raises(SourceUnavailable):
            await host.call_tool(ME, "flaky__go", {})
    assert store.activity[-1].data["outcome"] == "failed"
    assert store.activity[-1].data["rule"] == "source.skip_approvals"


async def test_a_cancelled_call_is_recorded_as_cancelled(store: MemoryStore) -> None:
    async def hang(arguments: Mapping[str, JSON]) -> ToolResult:
        await anyio.sleep_forever()
        return text_result("never")

    async with Host(store) as host:
        await host.add_source(FakeSource("slow", {"wait": (ToolDef("wait"), hang)}), skip_approvals=True)
        with anyio.move_on_after(0.05):
            await host.call_tool(ME, "slow__wait", {})
    assert store.activity[-1].data["outcome"] == "cancelled"


async def test_changed_tool_definitions_are_recorded(store: MemoryStore) -> None:
    source = FakeSource.echo()
    async with Host(store) as host:
        await host.add_source(source)
        definition, handler = source.tools["echo"]
        source.tools["echo"] = (ToolDef("echo", "Now does something else.", definition.input_schema), handler)
        await host.sync_catalog("fake")
    assert store.activity[-1].kind == "tools.changed"
    assert store.activity[-1].data["changed"] == ["echo"]
    assert (await store.verify()).is_intact


async def _collect(host: Host, results: list[ToolResult]) -> None:
    results.append(await host.call_tool(ME, "fake__echo", {"text": "x"}))


async def test_watchers_see_each_record_and_pending_approval_once(store: MemoryStore) -> None:
    async with Host(store, approvers=[ScriptedApprover(Verdict.APPROVED_ONCE)], approval_timeout_s=5) as host:
        with host.events.subscribe() as events:
            await host.add_source(FakeSource.echo())
            await host.call_tool(ME, "fake__echo", {"text": "x"})
            host.events.publish(store.activity[-1])  # a store watcher offering a row again
            seen: list[str] = []
            while True:
                try:
                    event = events.receive_nowait()
                except anyio.WouldBlock:
                    break
                seen.append(event.kind if isinstance(event, ActivityRecord) else "approval.pending")
    assert seen == ["tools.changed", "approval.pending", "approval.resolved", "tool.called"]


async def test_a_per_call_approver_decides_only_its_call(store: MemoryStore) -> None:
    async with Host(store, approvers=[SilentApprover()], approval_timeout_s=5) as host:
        await host.add_source(FakeSource.echo())
        approver = ScriptedApprover(Verdict.APPROVED_ONCE, name="client")
        result = await host.call_tool(ME, "fake__echo", {"text": "x"}, approvers=[approver])
        assert result.text == "x"
        assert host.approvers == [host.approvers[0]]
    assert store.activity[-2].data["decided_by"] == "client"
