"""One turn of a conversation as people see it: the prompt, then one message per model response.

``Turn`` follows what pydantic-ai adds to the history and what the toolset logged for each
call, and gives back ``ChatMessage``s to store. Saving the same turn again updates it (a
call that waited for approval gets its result). The model's own history is kept apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic_ai.messages import (
    ModelMessage,
    ModelMessagesTypeAdapter,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)

from tether.chat.toolset import CallLog, CallRecord
from tether.core.storage import ChatMessage, ChatToolCall, Conversation

_RETURN_STATUS = {"success": "ok", "failed": "failed", "denied": "refused", "interrupted": "cancelled"}


@dataclass
class _Draft:
    id: str
    role: str
    text: str
    created_at: datetime
    call_ids: list[str] = field(default_factory=list[str])
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass
class Turn:
    conversation: Conversation
    log: CallLog = field(default_factory=CallLog)
    drafts: list[_Draft] = field(default_factory=list[_Draft])

    def add_user(self, text: str) -> None:
        self.drafts.append(_Draft(new_id(), "user", text, now()))

    def add_notice(self, text: str) -> None:
        self.drafts.append(_Draft(new_id(), "notice", text, now()))

    def adopt(self, stored: Iterable[ChatMessage]) -> None:
        """Carry on a turn saved before (a run resumed after a restart): its calls keep their state."""
        for message in stored:
            self.drafts.append(
                _Draft(
                    message.id,
                    message.role,
                    message.text,
                    message.created_at,
                    [call.id for call in message.tool_calls],
                    message.model,
                    message.input_tokens,
                    message.output_tokens,
                )
            )
            for call in message.tool_calls:
                self.log.records[call.id] = CallRecord(
                    call.tool,
                    call.arguments,
                    "running" if call.status == "waiting" else call.status,
                    call.result,
                    call.activity_seq,
                    approval_id=call.approval_id,
                )

    def follow(self, new_messages: Sequence[ModelMessage], *, model: str) -> None:
        """Take in what one agent run added: responses become messages, returns settle their calls."""
        for message in new_messages:
            if isinstance(message, ModelResponse):
                draft = _Draft(
                    new_id(),
                    "assistant",
                    "".join(p.content for p in message.parts if isinstance(p, TextPart)),
                    now(),
                    model=model,
                    input_tokens=message.usage.input_tokens,
                    output_tokens=message.usage.output_tokens,
                )
                for part in message.parts:
                    if isinstance(part, ToolCallPart):
                        draft.call_ids.append(part.tool_call_id)
                        self.log.records.setdefault(
                            part.tool_call_id, CallRecord(part.tool_name, part.args_as_dict())
                        )
                self.drafts.append(draft)
            else:
                for part in message.parts:
                    if isinstance(part, ToolReturnPart):
                        self._settle(part)

    def _settle(self, part: ToolReturnPart) -> None:
        record = self.log.records.setdefault(part.tool_call_id, CallRecord(part.tool_name, {}))
        if record.is_done:
            return
        if part.outcome == "retried" or (part.outcome != "success" and record.status == "running"):
            # pydantic-ai answered the model itself: a tool name it does not have, say.
            record.status = "unknown" if part.outcome != "interrupted" else "cancelled"
        else:
            record.status = _RETURN_STATUS.get(part.outcome, "failed")
        record.result = part.model_response_str() if part.outcome == "success" else str(part.content)

    def waiting(self) -> list[CallRecord]:
        return [r for r in self.log.records.values() if r.status == "waiting"]

    def messages(self) -> list[ChatMessage]:
        return [
            ChatMessage(
                id=d.id,
                role=d.role,
                text=d.text,
                created_at=d.created_at,
                tool_calls=tuple(_call(call_id, self.log.records[call_id]) for call_id in d.call_ids),
                model=d.model,
                input_tokens=d.input_tokens,
                output_tokens=d.output_tokens,
            )
            for d in self.drafts
        ]


def _call(call_id: str, record: CallRecord) -> ChatToolCall:
    return ChatToolCall(
        id=call_id,
        tool=record.tool,
        arguments=record.arguments,
        status=record.status,
        result=record.result,
        activity_seq=record.activity_seq,
        approval_id=record.approval_id,
    )


def dump_history(messages: Sequence[ModelMessage]) -> str:
    return ModelMessagesTypeAdapter.dump_json(list(messages)).decode()


def load_history(text: str) -> list[ModelMessage]:
    return ModelMessagesTypeAdapter.validate_json(text)


def new_id() -> str:
    return uuid.uuid4().hex


def now() -> datetime:
    return datetime.now(UTC)
