"""The Chat page as people see it: messages, tool calls (results collapsed), token usage per turn,
and chat events rendered as the SSE messages the page's script applies.

Plain data for the templates; text is never marked safe, so whatever a model or a tool says
is shown, not run. Model configs are shown by ``describe()``: where the key is, never the key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tether.chat import events
from tether.core.storage import ChatMessage, ChatToolCall, StoredApproval
from tether.types import JSONObject
from tether.web.approval_views import ApprovalView, approval_view
from tether.web.chat_runs import LiveRun, Message
from tether.web.templating import Pages

STATUS = {
    "running": ("running", "busy"),
    "waiting": ("waits for your approval", "warn"),
    "ok": ("done", "ok"),
    "tool_error": ("the tool reported an error", "bad"),
    "failed": ("failed", "bad"),
    "refused": ("refused", "bad"),
    "invalid": ("invalid arguments", "bad"),
    "unknown": ("unknown tool", "bad"),
    "cancelled": ("cancelled", "warn"),
}
"""A call's status: what the page says, and the badge's colour."""


@dataclass(frozen=True, slots=True)
class CallView:
    id: str
    tool: str
    status: str
    label: str
    tone: str
    arguments: str
    result: str
    activity_seq: int | None = None
    approval: ApprovalView | None = None


@dataclass(frozen=True, slots=True)
class MessageView:
    id: str
    role: str
    text: str
    calls: tuple[CallView, ...]
    usage: str | None
    """The turn's token usage, on the last message of each turn."""


def call_view(
    call_id: str,
    tool: str,
    status: str,
    arguments: Mapping[str, Any],
    *,
    result: str = "",
    activity_seq: int | None = None,
    approval: StoredApproval | None = None,
) -> CallView:
    label, tone = STATUS.get(status, (status, "warn"))
    return CallView(
        id=call_id,
        tool=tool,
        status=status,
        label=label,
        tone=tone,
        arguments=json.dumps(arguments, indent=2, ensure_ascii=False, default=str),
        result=result,
        activity_seq=activity_seq,
        approval=approval_view(approval) if approval is not None and approval.verdict is None else None,
    )


def message_views(
    messages: Sequence[ChatMessage], approvals: Mapping[str, StoredApproval] | None = None
) -> list[MessageView]:
    """Stored messages with each turn's usage on its last message; ``approvals`` for waiting calls."""
    approvals = approvals or {}
    views: list[MessageView] = []
    turn_in = turn_out = 0
    for index, message in enumerate(messages):
        turn_in += message.input_tokens
        turn_out += message.output_tokens
        is_turn_end = index + 1 == len(messages) or messages[index + 1].role == "user"
        usage = usage_text(turn_in, turn_out) if is_turn_end and (turn_in or turn_out) else None
        if is_turn_end:
            turn_in = turn_out = 0
        views.append(
            MessageView(
                id=message.id,
                role=message.role,
                text=message.text,
                calls=tuple(_stored_call(c, approvals) for c in message.tool_calls),
                usage=usage,
            )
        )
    return views


def _stored_call(call: ChatToolCall, approvals: Mapping[str, StoredApproval]) -> CallView:
    approval = approvals.get(call.approval_id) if call.approval_id is not None else None
    return call_view(
        call.id,
        call.tool,
        call.status,
        call.arguments,
        result=call.result,
        activity_seq=call.activity_seq,
        approval=approval if call.status == "waiting" else None,
    )


def usage_text(input_tokens: int, output_tokens: int, requests: int = 0, tool_calls: int = 0) -> str:
    said = f"tokens: {input_tokens} in, {output_tokens} out"
    if requests:
        said += f" · {requests} model request{'s' if requests != 1 else ''}"
    if tool_calls:
        said += f" · {tool_calls} tool call{'s' if tool_calls != 1 else ''}"
    return said


class EventRenderer:
    """Chat events as the SSE messages the page applies: ``text``, ``call`` (HTML), ``finished`` (HTML)."""

    def __init__(self, pages: Pages) -> None:
        self._pages = pages

    def __call__(self, event: events.ChatEvent, live: LiveRun) -> Message | None:
        match event:
            case events.TextDelta(text=text):
                return "text", {"text": text}
            case events.ToolCallStarted(call_id=call_id, tool=tool, arguments=arguments):
                live.arguments[call_id] = arguments
                return self._call(call_view(call_id, tool, "running", arguments))
            case events.ApprovalWaiting(call_id=call_id, request=request):
                stored = StoredApproval(request, verdict=None, decided_by=None, decided_at=None)
                live.arguments.setdefault(call_id, request.arguments)
                tool = request.tool.qualified_name
                return self._call(call_view(call_id, tool, "waiting", request.arguments, approval=stored))
            case events.ToolCallFinished(
                call_id=call_id, tool=tool, status=status, result=result, activity_seq=seq
            ):
                arguments: JSONObject = live.arguments.get(call_id, {})
                return self._call(
                    call_view(call_id, tool, status, arguments, result=result, activity_seq=seq)
                )
            case events.TurnFinished(usage=usage):
                return self._finished("ok", None, usage)
            case events.RunCancelled(usage=usage):
                return self._finished("warn", "Cancelled: the answer stopped here.", usage)
            case events.RunFailed(code=code, message=message, usage=usage):
                return self._finished("bad", f"Stopped ({code}): {message}", usage)
            case events.RunStarted(model=model):
                live.model = model
                return None

    def _call(self, view: CallView) -> Message:
        return "call", {"id": view.id, "html": self._pages.fragment("_chat_call.html", {"call": view})}

    def _finished(self, tone: str, notice: str | None, usage: events.TokenUsage) -> Message:
        said = usage_text(usage.input_tokens, usage.output_tokens, usage.requests, usage.tool_calls)
        html = self._pages.fragment("_chat_finished.html", {"tone": tone, "notice": notice, "usage": said})
        return "finished", {"tone": tone, "html": html}


def sse(seq: int, message: Message) -> str:
    """One SSE message with its id (so a reconnecting page asks for what came after it)."""
    name, data = message
    return f"id: {seq}\nevent: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
