"""Conversations: stored, listed, renamed, exported as Markdown, deleted; sources chosen per conversation;
many tools reach the model as two meta-tools that still call through the host."""

from __future__ import annotations

import json

import pytest
from pydantic_ai.messages import ModelMessage

from tests.chat.harness import chat_app, drive
from tests.chat.scripted import Part, Script, call, returns, text
from tether.chat import events
from tether.chat.assistant import ChatOptions
from tether.config import Settings
from tether.core.storage import Conversation
from tether.errors import UnknownConversation, UnknownSource
from tether.store.db import open_store


async def test_conversations_are_listed_renamed_exported_and_deleted(settings: Settings) -> None:
    script = Script(
        [text("Echoing. "), call("echo__echo", {"text": "```fenced```"}, "c1")],
        lambda messages: [text("It said so.")],
        [text("Second answer.")],
    )
    async with chat_app(settings, script) as chat:
        await chat.allow("echo__echo")
        first = chat.assistant.send("Please echo something for me")
        await drive(first)
        await drive(chat.assistant.send("And again", conversation_id=first.conversation_id))
        book = chat.assistant.conversations

        [listed] = await book.list()
        assert (listed.id, listed.model) == (first.conversation_id, "scripted")
        assert listed.title == "Please echo something for me"
        await book.rename(listed.id, "Echo test")
        markdown = await book.export_markdown(listed.id)
        [row] = await chat.calls("echo__echo")

        assert markdown.startswith("# Echo test\n")
        assert "## You\n\nPlease echo something for me" in markdown
        assert "## Assistant (scripted)\n\nEchoing. " in markdown
        assert f"**Tool call** `echo__echo`: ok, activity row {row.seq}" in markdown
        assert "````text\n```fenced```\n````" in markdown  # a result cannot close its own fence
        assert markdown.index("Second answer.") > markdown.index("It said so.")

        await book.delete(listed.id)
        assert await book.list() == []
        with pytest.raises(UnknownConversation):
            await book.open(listed.id)
        assert len(await chat.calls("echo__echo")) == 1  # the activity log keeps the call


async def test_a_conversation_uses_only_the_sources_chosen_for_it(settings: Settings) -> None:
    offered: list[set[str]] = []

    def look(messages: list[ModelMessage]) -> list[Part]:
        return [text("looked")]

    script = Script(look, look)
    async with chat_app(settings, script) as chat:
        run = chat.assistant.send("hi", sources=[])
        await drive(run)
        offered.append(_offered(script))
        await chat.assistant.conversations.choose_sources(run.conversation_id, ["echo"])
        await drive(chat.assistant.send("again", conversation_id=run.conversation_id))
        offered.append(_offered(script))
        with pytest.raises(UnknownSource):
            await chat.assistant.conversations.choose_sources(run.conversation_id, ["nope"])

    assert offered[0] == set()
    assert "echo__echo" in offered[1]
    conversation_sources = (await _stored(settings, run.conversation_id)).sources
    assert conversation_sources == ("echo",)


async def test_above_the_threshold_the_model_searches_tools_and_calls_them_by_name(
    settings: Settings,
) -> None:
    found: list[str] = []

    def pick(messages: list[ModelMessage]) -> list[Part]:
        found.extend(item["name"] for item in json.loads(str(returns(messages)["s1"].content)))
        return [call("call_tool", {"name": "echo__add", "arguments": {"a": 2, "b": 3}}, "c1")]

    script = Script(
        [call("search_tools", {"query": "add integers"}, "s1")],
        pick,
        lambda messages: [text(f"sum {returns(messages)['c1'].content}")],
    )
    async with chat_app(settings, script, ChatOptions(tool_search_threshold=2, model_max_retries=0)) as chat:
        await chat.allow("echo__add")
        seen = await drive(chat.assistant.send("add 2 and 3"))

        assert _offered(script) == {"search_tools", "call_tool"}
        assert found[0] == "echo__add"
        assert isinstance(seen[-1], events.TurnFinished)
        assert seen[-1].text == "sum 5"
        [row] = await chat.calls("echo__add")
        assert row.data["outcome"] == "ok"
        started = [e.tool for e in seen if isinstance(e, events.ToolCallStarted)]
        assert started == ["search_tools", "echo__add"]


def _offered(script: Script) -> set[str]:
    """The tool names the model was given in its latest request."""
    return set(script.tools[-1])


async def _stored(settings: Settings, conversation_id: str) -> Conversation:
    async with await open_store(settings.home) as store:
        return await store.get_conversation(conversation_id)
