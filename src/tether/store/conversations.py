"""Assistant conversations in the database: ``ConversationStore``.

Mixin of ``SqlStore``. A conversation row holds what the model remembers (its history, as
opaque JSON text the chat package writes) and which calls wait for approval; messages and
their tool calls are what people see, each tool call linked to its activity row by seq.
On SQLite a save goes through the lane (one short transaction on the loop thread): the assistant
saves once per turn and before every wait for approval, and the engine's thread hop cost more
than the write.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa

from tether.core.storage import ChatMessage, ChatToolCall, Conversation
from tether.errors import UnknownConversation
from tether.store import rows
from tether.store.engine import Database
from tether.store.lane import SqliteLane
from tether.store.schema import metadata

conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("model", sa.String(200), nullable=True),
    sa.Column("sources", sa.JSON, nullable=True),
    sa.Column("pending", sa.JSON, nullable=False),
    sa.Column("history", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)

chat_messages = sa.Table(
    "chat_messages",
    metadata,
    # n orders the messages: they are numbered when first saved.
    sa.Column("n", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "conversation_id",
        sa.String(64),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("model", sa.String(200), nullable=True),
    sa.Column("input_tokens", sa.Integer, nullable=False),
    sa.Column("output_tokens", sa.Integer, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Index("ix_chat_messages_conversation", "conversation_id"),
)

chat_tool_calls = sa.Table(
    "chat_tool_calls",
    metadata,
    sa.Column(
        "conversation_id",
        sa.String(64),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("message_id", sa.String(64), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("tool", sa.String(401), nullable=False),
    sa.Column("arguments", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("result", sa.Text, nullable=False),
    sa.Column("activity_seq", sa.Integer, nullable=True),
    sa.Column("approval_id", sa.String(64), nullable=True),
    sa.Index("ix_chat_tool_calls_message", "message_id"),
)


def _unknown(conversation_id: str) -> UnknownConversation:
    return UnknownConversation(f"no conversation '{conversation_id}': see `tether chat list`")


class ConversationRepository:
    _db: Database
    _lane: SqliteLane | None

    async def save_conversation(
        self, conversation: Conversation, *, history: str | None = None, messages: Sequence[ChatMessage] = ()
    ) -> None:
        values: dict[str, Any] = {
            "id": conversation.id,
            "title": conversation.title,
            "model": conversation.model,
            "sources": list(conversation.sources) if conversation.sources is not None else None,
            "pending": dict(conversation.pending),
            "created_at": rows.to_text(conversation.created_at),
            "updated_at": rows.to_text(conversation.updated_at),
        }
        if history is not None:
            values["history"] = history
        message_values = [_message_values(conversation.id, m) for m in messages]
        call_values = [
            _call_values(conversation.id, m.id, position, call)
            for m in messages
            for position, call in enumerate(m.tool_calls)
        ]
        if self._lane is not None:
            # Committed (and so durable as any engine write) before this returns.
            await self._lane.write(lambda conn: _lane_save(conn, values, message_values, call_values))
            return

        def save(conn: sa.Connection) -> None:
            if conn.scalar(_EXISTS, {"conversation_id": conversation.id}) is None:
                conn.execute(_INSERT, {"history": "[]", **values})
            else:
                conn.execute(_update(tuple(values)), {"conversation_id": conversation.id, **values})
            if message_values:
                conn.execute(self._upsert_many(chat_messages, ("id",)), message_values)
            if call_values:
                conn.execute(self._upsert_many(chat_tool_calls, ("conversation_id", "id")), call_values)

        await self._db.write(save)

    def _upsert_many(self, table: sa.Table, keys: tuple[str, ...]) -> sa.Executable:
        # Bound parameters instead of values keep the statement's shape the same every time,
        # so SQLAlchemy compiles it once and every row goes in one executemany.
        values: dict[str, object] = {c.name: sa.bindparam(c.name) for c in table.c if c.name != "n"}
        return self._db.upsert(table, values, keys=keys)

    async def get_conversation(self, conversation_id: str) -> Conversation:
        query = sa.select(*_SUMMARY).where(conversations.c.id == conversation_id)
        row = await self._db.read(lambda conn: conn.execute(query).first())
        if row is None:
            raise _unknown(conversation_id)
        return _conversation_from_row(row)

    async def conversation_history(self, conversation_id: str) -> str:
        query = sa.select(conversations.c.history).where(conversations.c.id == conversation_id)
        history: object = await self._db.read(lambda conn: conn.scalar(query))
        if history is None:
            raise _unknown(conversation_id)
        return str(history)

    async def list_conversations(self) -> Sequence[Conversation]:
        query = sa.select(*_SUMMARY).order_by(conversations.c.updated_at.desc(), conversations.c.id)

        def read(conn: sa.Connection) -> list[rows.AnyRow]:
            return list(cast(Iterable[rows.AnyRow], conn.execute(query)))

        return [_conversation_from_row(row) for row in await self._db.read(read)]

    async def conversation_messages(self, conversation_id: str) -> Sequence[ChatMessage]:
        await self.get_conversation(conversation_id)

        def read(conn: sa.Connection) -> tuple[list[rows.AnyRow], list[rows.AnyRow]]:
            messages = conn.execute(
                sa.select(chat_messages)
                .where(chat_messages.c.conversation_id == conversation_id)
                .order_by(chat_messages.c.n)
            )
            calls = conn.execute(
                sa.select(chat_tool_calls)
                .where(chat_tool_calls.c.conversation_id == conversation_id)
                .order_by(chat_tool_calls.c.message_id, chat_tool_calls.c.position)
            )
            return list(messages), list(calls)

        message_rows, call_rows = await self._db.read(read, snapshot=True)
        calls: defaultdict[str, list[ChatToolCall]] = defaultdict(list)
        for row in call_rows:
            calls[row.message_id].append(_call_from_row(row))
        return [_message_from_row(row, calls[row.id]) for row in message_rows]

    async def delete_conversation(self, conversation_id: str) -> None:
        def delete(conn: sa.Connection) -> int:
            # Children first: foreign keys cascade, but not every connection enforces them.
            for table in (chat_tool_calls, chat_messages):
                conn.execute(sa.delete(table).where(table.c.conversation_id == conversation_id))
            return conn.execute(
                sa.delete(conversations).where(conversations.c.id == conversation_id)
            ).rowcount

        if await self._db.write(delete) == 0:
            raise _unknown(conversation_id)


_INSERT = sa.insert(conversations).values({c.name: sa.bindparam(c.name) for c in conversations.c})
_EXISTS = sa.select(conversations.c.id).where(conversations.c.id == sa.bindparam("conversation_id"))


@functools.cache
def _update(columns: tuple[str, ...]) -> sa.Update:
    """An UPDATE of ``columns`` by bound parameters: one shape, compiled once."""
    return (
        sa.update(conversations)
        .where(conversations.c.id == sa.bindparam("conversation_id"))
        .values({name: sa.bindparam(name) for name in columns})
    )


_SUMMARY = [column for column in conversations.c if column.name != "history"]


# The same save for the lane's stdlib connection: JSON columns are text there, as SQLAlchemy writes them.
def _lane_upsert(table: sa.Table, keys: Sequence[str], *, fixed: Mapping[str, str] | None = None) -> str:
    """An upsert by named parameters; ``fixed`` columns get a literal on INSERT, no change on UPDATE."""
    fixed = fixed or {}
    columns = [c.name for c in table.c if c.name != "n"]
    values = [fixed.get(name, ":" + name) for name in columns]
    changes = ", ".join(f"{name} = excluded.{name}" for name in columns if name not in (*keys, *fixed))
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(values)}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {changes}"
    )


_LANE_SAVE_CONVERSATION = _lane_upsert(conversations, ("id",))
_LANE_SAVE_FIELDS = _lane_upsert(conversations, ("id",), fixed={"history": "'[]'"})
"""A save that leaves the history alone: a new row starts with none, an existing one keeps its own."""
_LANE_SAVE_MESSAGE = _lane_upsert(chat_messages, ("id",))
_LANE_SAVE_CALL = _lane_upsert(chat_tool_calls, ("conversation_id", "id"))


def _lane_save(
    conn: sqlite3.Connection,
    values: Mapping[str, Any],
    message_values: Sequence[Mapping[str, Any]],
    call_values: Sequence[Mapping[str, Any]],
) -> None:
    row = {**values, "sources": json.dumps(values["sources"]), "pending": json.dumps(values["pending"])}
    conn.execute(_LANE_SAVE_CONVERSATION if "history" in row else _LANE_SAVE_FIELDS, row)
    if message_values:
        conn.executemany(_LANE_SAVE_MESSAGE, message_values)
    if call_values:
        conn.executemany(
            _LANE_SAVE_CALL, [{**call, "arguments": json.dumps(call["arguments"])} for call in call_values]
        )


def _conversation_from_row(row: rows.AnyRow) -> Conversation:
    sources = cast(list[str] | None, row.sources)
    return Conversation(
        id=row.id,
        title=row.title,
        created_at=rows.from_text(row.created_at),
        updated_at=rows.from_text(row.updated_at),
        model=row.model,
        sources=tuple(sources) if sources is not None else None,
        pending=dict(cast(Mapping[str, str], row.pending)),
    )


def _message_values(conversation_id: str, message: ChatMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "conversation_id": conversation_id,
        "role": message.role,
        "text": message.text,
        "model": message.model,
        "input_tokens": message.input_tokens,
        "output_tokens": message.output_tokens,
        "created_at": rows.to_text(message.created_at),
    }


def _message_from_row(row: rows.AnyRow, calls: Sequence[ChatToolCall]) -> ChatMessage:
    return ChatMessage(
        id=row.id,
        role=row.role,
        text=row.text,
        created_at=rows.from_text(row.created_at),
        tool_calls=tuple(calls),
        model=row.model,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
    )


def _call_values(conversation_id: str, message_id: str, position: int, call: ChatToolCall) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "id": call.id,
        "message_id": message_id,
        "position": position,
        "tool": call.tool,
        "arguments": dict(call.arguments),
        "status": call.status,
        "result": call.result,
        "activity_seq": call.activity_seq,
        "approval_id": call.approval_id,
    }


def _call_from_row(row: rows.AnyRow) -> ChatToolCall:
    return ChatToolCall(
        id=row.id,
        tool=row.tool,
        arguments=dict(cast(Mapping[str, Any], row.arguments)),
        status=row.status,
        result=row.result,
        activity_seq=row.activity_seq,
        approval_id=row.approval_id,
    )
