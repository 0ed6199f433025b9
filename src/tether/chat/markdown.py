"""A conversation as Markdown: what was said, and each tool call with its outcome and activity row.

Tool results are shown as quoted data in fenced blocks (and cut when long), never as Markdown
of their own: a result is data, and must not be able to pass itself off as the conversation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from tether.core.storage import ChatMessage, ChatToolCall, Conversation

RESULT_PREVIEW_CHARS = 2000
_ROLES = {"user": "You", "assistant": "Assistant", "notice": "tether"}


def render(conversation: Conversation, messages: Sequence[ChatMessage]) -> str:
    sources = ", ".join(conversation.sources) if conversation.sources is not None else "all enabled sources"
    lines = [
        f"# {conversation.title}",
        "",
        f"- conversation: `{conversation.id}`",
        f"- model: {conversation.model or 'the default model'}",
        f"- sources: {sources}",
        f"- started: {conversation.created_at:%Y-%m-%d %H:%M} UTC",
        "",
    ]
    for message in messages:
        heading = _ROLES.get(message.role, message.role)
        if message.role == "assistant" and message.model:
            heading += f" ({message.model})"
        lines += [f"## {heading}", ""]
        if message.text:
            lines += [message.text, ""]
        for call in message.tool_calls:
            lines += _call(call)
    return "\n".join(lines).rstrip() + "\n"


def _call(call: ChatToolCall) -> list[str]:
    where = f", activity row {call.activity_seq}" if call.activity_seq is not None else ""
    result = (
        call.result if len(call.result) <= RESULT_PREVIEW_CHARS else call.result[:RESULT_PREVIEW_CHARS] + "…"
    )
    return [
        f"**Tool call** `{call.tool}`: {call.status}{where}",
        "",
        _fenced(json.dumps(dict(call.arguments), indent=2, ensure_ascii=False), "json"),
        "",
        "Result:",
        "",
        _fenced(result or "(nothing)", "text"),
        "",
    ]


def _fenced(text: str, language: str) -> str:
    fence = "```"
    while fence in text:  # a longer fence than any run of backticks inside
        fence += "`"
    return f"{fence}{language}\n{text}\n{fence}"
