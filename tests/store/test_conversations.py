"""Conversations in the store read back as they went in: on SQLite saved through the lane, on
PostgreSQL through the engine."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tether.core.storage import ChatMessage, ChatToolCall, Conversation
from tether.errors import UnknownConversation
from tether.store import SqlStore, open_store

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _conversation(**changes: object) -> Conversation:
    fields: dict[str, object] = {"id": "c1", "title": "notes", "created_at": AT, "updated_at": AT, **changes}
    return Conversation(**fields)  # pyright: ignore[reportArgumentType]


def _message(status: str, result: str = "") -> ChatMessage:
    call = ChatToolCall("call-1", "files__read", {"path": "notes.md", "n": [1, "é"]}, status, result, 7, "a1")
    return ChatMessage("m1", "assistant", "Reading.", AT, (call,), "scripted", 10, 5)


async def test_a_saved_conversation_reads_back_with_its_messages_calls_and_history(store: SqlStore) -> None:
    conversation = _conversation(sources=("files", "tasks"), pending={"call-1": "a1"}, model="local")
    await store.save_conversation(
        conversation, history='[{"kind": "request"}]', messages=[_message("waiting")]
    )

    assert await store.get_conversation("c1") == conversation
    assert await store.conversation_history("c1") == '[{"kind": "request"}]'
    assert await store.conversation_messages("c1") == [_message("waiting")]


async def test_saving_again_updates_calls_and_keeps_the_history_when_none_is_given(store: SqlStore) -> None:
    await store.save_conversation(
        _conversation(pending={"call-1": "a1"}), history="[1]", messages=[_message("waiting")]
    )
    await store.save_conversation(_conversation(title="renamed"), messages=[_message("ok", "done")])

    conversation = await store.get_conversation("c1")
    assert (conversation.title, conversation.pending, conversation.sources) == ("renamed", {}, None)
    assert await store.conversation_history("c1") == "[1]"
    [message] = await store.conversation_messages("c1")
    assert (message.tool_calls[0].status, message.tool_calls[0].result) == ("ok", "done")


async def test_a_new_conversation_saved_without_history_has_an_empty_one(store: SqlStore) -> None:
    await store.save_conversation(_conversation())
    assert await store.conversation_history("c1") == "[]"
    assert [c.id for c in await store.list_conversations()] == ["c1"]


async def test_a_checkpoint_is_committed_when_save_returns(location: Path | str, store: SqlStore) -> None:
    await store.save_conversation(_conversation(pending={"call-1": "a1"}), history="[2]")
    # Another connection (another tether process, or this one after a restart) sees it at once.
    async with await open_store(location) as other:
        assert (await other.get_conversation("c1")).pending == {"call-1": "a1"}
        assert await other.conversation_history("c1") == "[2]"
    await store.delete_conversation("c1")
    with pytest.raises(UnknownConversation):
        await store.get_conversation("c1")
