"""The assistant loop against a real stdio server and the real store, driven by a scripted model."""

from __future__ import annotations

import anyio
import pytest
from pydantic_ai.messages import ModelMessage

from tests.chat.harness import chat_app, drive
from tests.chat.scripted import Part, Script, call, returns, text
from tether.chat import events
from tether.chat.assistant import ChatOptions, Plan
from tether.chat.run import ChatRun
from tether.config import Settings
from tether.core.storage import ActivityFilter
from tether.errors import Conflict
from tether.types import Verdict


def said(call_id: str) -> Script:
    """A model that calls echo once, then repeats what the tool answered."""
    return Script(
        [text("Let me check. "), call("echo__echo", {"text": "hello"}, call_id)],
        lambda messages: [text(f"The tool said: {returns(messages)[call_id].content}")],
    )


async def test_a_call_that_asks_waits_for_the_stored_approval_then_runs_once(settings: Settings) -> None:
    script = said("c1")
    async with chat_app(settings, script) as chat:

        async def approve_from_elsewhere(event: events.ChatEvent, run: ChatRun[Plan]) -> None:
            if isinstance(event, events.ApprovalWaiting):
                pending = await chat.app.store.pending_approvals()
                assert [p.request.id for p in pending] == [event.request.id]
                conversation = await chat.app.store.get_conversation(run.conversation_id)
                assert conversation.pending == {"c1": event.request.id}
                assert await chat.calls("echo__echo") == []  # nothing ran yet
                # As the web UI does: a decision in the store, seen by the waiting run.
                assert await chat.app.store.resolve_approval(event.request.id, Verdict.APPROVED_ONCE, "web")

        run = chat.assistant.send("say hello", approvers=[])
        seen = await drive(run, approve_from_elsewhere)

        assert isinstance(seen[-1], events.TurnFinished)
        assert seen[-1].text == "The tool said: hello"
        [row] = await chat.calls("echo__echo")
        assert row.actor == f"chat:{run.conversation_id}"
        assert (row.data["verdict"], row.data["outcome"]) == ("approved_once", "ok")
        conversation, messages = await chat.assistant.conversations.open(run.conversation_id)
        assert conversation.pending == {}
        assert [m.role for m in messages] == ["user", "assistant", "assistant"]
        [tool_call] = messages[1].tool_calls
        assert (tool_call.tool, tool_call.status, tool_call.result) == ("echo__echo", "ok", "hello")
        assert tool_call.activity_seq == row.seq


async def test_a_denied_call_is_a_refusal_the_model_reads_and_the_turn_ends(settings: Settings) -> None:
    script = Script(
        [call("echo__echo", {"text": "secret"}, "c1")],
        lambda messages: [text("I could not: " + str(returns(messages)["c1"].content))],
    )
    async with chat_app(settings, script) as chat:

        async def deny(event: events.ChatEvent, run: ChatRun[Plan]) -> None:
            if isinstance(event, events.ApprovalWaiting):
                await chat.app.store.resolve_approval(event.request.id, Verdict.DENIED, "web")

        seen = await drive(chat.assistant.send("leak it"), deny)

        finished = seen[-1]
        assert isinstance(finished, events.TurnFinished)
        assert "denied" in finished.text
        [row] = await chat.calls("echo__echo")
        assert (row.data["verdict"], row.data["outcome"]) == ("denied", "refused")
        done = [e for e in seen if isinstance(e, events.ToolCallFinished)]
        assert [(e.status, e.activity_seq) for e in done] == [("refused", row.seq)]


async def test_unknown_tools_and_bad_arguments_are_told_to_the_model_and_the_run_goes_on(
    settings: Settings,
) -> None:
    told: dict[str, str] = {}

    def read_and_fix(messages: list[ModelMessage]) -> list[Part]:
        told.update({k: str(v.content) for k, v in returns(messages).items()})
        return [call("echo__add", {"a": 1, "b": 2}, "c3")]

    script = Script(
        [call("nope__nothing", {}, "c1"), call("echo__add", {"a": 1, "b": "two"}, "c2")],
        read_and_fix,
        lambda messages: [text(f"sum is {returns(messages)['c3'].content}")],
    )
    async with chat_app(settings, script) as chat:
        await chat.allow("echo__add")
        seen = await drive(chat.assistant.send("add"))

        assert isinstance(seen[-1], events.TurnFinished)
        assert seen[-1].text == "sum is 3"
        assert "nope__nothing" in told["c1"]
        assert "rejected its arguments" in told["c2"]
        statuses = {e.call_id: e.status for e in seen if isinstance(e, events.ToolCallFinished)}
        assert statuses == {"c1": "unknown", "c2": "invalid", "c3": "ok"}
        assert [r.data["outcome"] for r in await chat.calls("echo__add")] == ["invalid", "ok"]


async def test_a_model_that_loops_on_tool_calls_is_stopped_at_the_limit(settings: Settings) -> None:
    counter = iter(range(1000))
    script = Script(then=lambda messages: [call("echo__echo", {"text": "again"}, f"c{next(counter)}")])
    async with chat_app(settings, script, ChatOptions(max_tool_calls=3, model_max_retries=0)) as chat:
        await chat.allow("echo__echo")
        run = chat.assistant.send("loop")
        seen = await drive(run)

        failed = seen[-1]
        assert isinstance(failed, events.RunFailed)
        assert failed.code == "tool_call_limit"
        assert len(await chat.calls("echo__echo")) == 3
        _, messages = await chat.assistant.conversations.open(run.conversation_id)
        assert messages[-1].role == "notice"
        # The conversation goes on: the next turn starts from the stored history.
        script.then = [text("ok, stopping")]
        again = await drive(chat.assistant.send("stop now", conversation_id=run.conversation_id))
        assert isinstance(again[-1], events.TurnFinished)


async def test_a_huge_result_is_cut_for_the_model_and_kept_whole_in_activity(settings: Settings) -> None:
    huge = "x" * 5000
    script = Script(
        [call("echo__echo", {"text": huge}, "c1")],
        lambda messages: [text(str(returns(messages)["c1"].content))],
    )
    options = ChatOptions(result_max_chars=1000, model_max_retries=0)
    async with chat_app(settings, script, options) as chat:
        await chat.allow("echo__echo")
        seen = await drive(chat.assistant.send("big"))

        shown = seen[-1]
        assert isinstance(shown, events.TurnFinished)
        assert shown.text.startswith("x" * 1000 + "\n\n[tether: this result has 5000 characters")
        assert "x" * 1001 not in shown.text
        [called] = await chat.calls("echo__echo")
        [kept] = await chat.app.store.records(ActivityFilter(kind="chat.tool_result"))
        assert kept.data["called_seq"] == called.seq
        assert kept.data["content"] == [{"type": "text", "text": huge}]
        assert f"row {kept.seq}" in shown.text


async def test_a_source_that_goes_down_mid_call_is_a_tool_error_the_model_sees(settings: Settings) -> None:
    script = Script(
        [call("echo__crash", {}, "c1")],
        lambda messages: [text("the tool broke: " + str(returns(messages)["c1"].content))],
    )
    async with chat_app(settings, script) as chat:
        await chat.allow("echo__crash")
        seen = await drive(chat.assistant.send("crash it"))

        finished = seen[-1]
        assert isinstance(finished, events.TurnFinished)
        assert "source failed" in finished.text
        [row] = await chat.calls("echo__crash")
        assert row.data["outcome"] == "failed"


async def test_cancelling_a_run_that_waits_for_approval_gives_the_approval_up(settings: Settings) -> None:
    script = Script([call("echo__echo", {"text": "hi"}, "c1")], [text("fresh start")])
    async with chat_app(settings, script) as chat:
        waited: list[str] = []

        async def cancel(event: events.ChatEvent, run: ChatRun[Plan]) -> None:
            if isinstance(event, events.ApprovalWaiting):
                waited.append(event.request.id)
                run.cancel()

        run = chat.assistant.send("say hi")
        seen = await drive(run, cancel)

        assert isinstance(seen[-1], events.RunCancelled)
        stored = await chat.app.store.get_approval(waited[0])
        assert (stored.verdict, stored.decided_by) == (Verdict.EXPIRED, "cancelled")
        assert await chat.calls("echo__echo") == []
        conversation, messages = await chat.assistant.conversations.open(run.conversation_id)
        assert conversation.pending == {}
        assert messages[1].tool_calls[0].status == "cancelled"
        again = await drive(chat.assistant.send("next", conversation_id=run.conversation_id))
        assert isinstance(again[-1], events.TurnFinished)
        assert again[-1].text == "fresh start"


async def test_text_streams_in_pieces_and_each_turn_reports_its_token_usage(settings: Settings) -> None:
    answer = "A fairly long answer that streams in pieces."
    async with chat_app(settings, Script([text(answer)])) as chat:
        seen = await drive(chat.assistant.send("talk"))

        deltas = [e.text for e in seen if isinstance(e, events.TextDelta)]
        assert len(deltas) > 3
        assert "".join(deltas) == answer
        finished = seen[-1]
        assert isinstance(finished, events.TurnFinished)
        assert finished.usage.requests == 1
        assert finished.usage.input_tokens > 0
        assert finished.usage.output_tokens > 0


async def test_two_runs_of_one_conversation_cannot_overlap(settings: Settings) -> None:
    gate = anyio.Event()
    script = Script([call("echo__echo", {"text": "hi"}, "c1")])
    async with chat_app(settings, script) as chat:

        async def try_again(event: events.ChatEvent, run: ChatRun[Plan]) -> None:
            if isinstance(event, events.ApprovalWaiting):
                with pytest.raises(Conflict):
                    async with chat.assistant.send("again", conversation_id=run.conversation_id):
                        pass
                gate.set()
                run.cancel()

        await drive(chat.assistant.send("hi"), try_again)
        assert gate.is_set()
