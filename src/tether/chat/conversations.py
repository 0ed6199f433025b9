"""Conversations as the user manages them: list, open, rename, choose sources, delete, export.

Kept apart from the loop so these stay quick (no pydantic-ai). Deleting a conversation gives
up the approvals it still waited for; the activity log keeps every call it made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from tether.chat import markdown
from tether.core.storage import ApprovalStore, ChatMessage, Conversation, ConversationStore, SourceStore
from tether.errors import UnknownSource, UsageError
from tether.types import Verdict


class ConversationBook:
    def __init__(self, store: ConversationStore, sources: SourceStore, approvals: ApprovalStore) -> None:
        self._store = store
        self._sources = sources
        self._approvals = approvals

    async def list(self) -> Sequence[Conversation]:
        """Every conversation, the one updated last first."""
        return await self._store.list_conversations()

    async def open(self, conversation_id: str) -> tuple[Conversation, Sequence[ChatMessage]]:
        """A conversation and its messages (each with its tool calls and their activity rows)."""
        conversation = await self._store.get_conversation(conversation_id)
        return conversation, await self._store.conversation_messages(conversation_id)

    async def rename(self, conversation_id: str, title: str) -> Conversation:
        if not title.strip():
            raise UsageError("a conversation's title cannot be empty")
        conversation = replace(await self._store.get_conversation(conversation_id), title=title.strip())
        await self._store.save_conversation(conversation)
        return conversation

    async def choose_sources(self, conversation_id: str, sources: Sequence[str] | None) -> Conversation:
        """Which sources' tools the conversation may use from now on; None means every enabled one."""
        if sources is not None:
            known = {c.name for c in await self._sources.list_sources()}
            if unknown := sorted(set(sources) - known):
                raise UnknownSource(f"no source named '{unknown[0]}': see `tether source list`")
        conversation = replace(
            await self._store.get_conversation(conversation_id),
            sources=tuple(sources) if sources is not None else None,
        )
        await self._store.save_conversation(conversation)
        return conversation

    async def delete(self, conversation_id: str) -> None:
        """Forget a conversation; approvals it still waited for are given up."""
        conversation = await self._store.get_conversation(conversation_id)
        for approval_id in conversation.pending.values():
            await self._approvals.resolve_approval(approval_id, Verdict.EXPIRED, "conversation deleted")
        await self._store.delete_conversation(conversation_id)

    async def export_markdown(self, conversation_id: str) -> str:
        return markdown.render(*await self.open(conversation_id))
