"""A run waiting for approval survives tether stopping: the approval stays pending, the run resumes."""

from __future__ import annotations

import pytest

from tests.chat.harness import chat_app, drive
from tests.chat.scripted import Script, call, returns, text
from tether.chat import events
from tether.chat.assistant import Plan
from tether.chat.run import ChatRun
from tether.config import Settings
from tether.store.db import open_store
from tether.types import Verdict


async def test_a_run_waiting_for_approval_resumes_after_tether_restarts(settings: Settings) -> None:
    script = Script(
        [text("Writing it. "), call("echo__echo", {"text": "after restart"}, "c1")],
        lambda messages: [text(f"done: {returns(messages)['c1'].content}")],
    )
    waiting: list[str] = []

    async def stop_tether(event: events.ChatEvent, run: ChatRun[Plan]) -> None:
        if isinstance(event, events.ApprovalWaiting):
            waiting.append(event.request.id)
            raise _Stop  # leaving the run tears it down, as stopping tether does

    async with chat_app(settings, script) as chat:
        run = chat.assistant.send("write it")
        with pytest.raises(_Stop):
            await drive(run, stop_tether)
        conversation_id = run.conversation_id

    # tether is stopped: the approval is still pending, and the conversation knows it waits on it.
    async with await open_store(settings.home) as store:
        [pending] = await store.pending_approvals()
        assert pending.request.id == waiting[0]
        assert (await store.get_conversation(conversation_id)).pending == {"c1": waiting[0]}

    async with chat_app(settings, script) as chat:

        async def approve(event: events.ChatEvent, run: ChatRun[Plan]) -> None:
            if isinstance(event, events.ApprovalWaiting):
                assert event.request.id == waiting[0]
                await chat.app.store.resolve_approval(event.request.id, Verdict.APPROVED_ONCE, "web")

        seen = await drive(chat.assistant.resume(conversation_id), approve)

        assert isinstance(seen[-1], events.TurnFinished)
        assert seen[-1].text == "done: after restart"
        [row] = await chat.calls("echo__echo")
        assert (row.data["verdict"], row.data["outcome"]) == ("approved_once", "ok")
        conversation, messages = await chat.assistant.conversations.open(conversation_id)
        assert conversation.pending == {}
        assert [(m.role, m.text) for m in messages] == [
            ("user", "write it"),
            ("assistant", "Writing it. "),
            ("assistant", "done: after restart"),
        ]
        assert messages[1].tool_calls[0].activity_seq == row.seq


async def test_an_approval_given_while_tether_was_stopped_is_used_when_the_run_resumes(
    settings: Settings,
) -> None:
    script = Script(
        [call("echo__echo", {"text": "decided meanwhile"}, "c1")],
        lambda messages: [text(str(returns(messages)["c1"].content))],
    )

    async def stop_tether(event: events.ChatEvent, run: ChatRun[Plan]) -> None:
        if isinstance(event, events.ApprovalWaiting):
            raise _Stop

    async with chat_app(settings, script) as chat:
        run = chat.assistant.send("go")
        with pytest.raises(_Stop):
            await drive(run, stop_tether)

    async with await open_store(settings.home) as store:
        [pending] = await store.pending_approvals()
        assert await store.resolve_approval(pending.request.id, Verdict.APPROVED_ONCE, "cli")

    async with chat_app(settings, script) as chat:
        seen = await drive(chat.assistant.resume(run.conversation_id))
        assert isinstance(seen[-1], events.TurnFinished)
        assert seen[-1].text == "decided meanwhile"
        assert len(await chat.calls("echo__echo")) == 1


class _Stop(Exception):
    pass
