"""What a chat run tells whoever shows it (the terminal, the web page): one small dataclass per event.

A run yields ``RunStarted``, then text and tool-call progress, and ends with exactly one of
``TurnFinished``, ``RunCancelled`` or ``RunFailed`` (unless it is torn down from outside, e.g.
tether stopping). Events are plain data, so the web UI can send them as JSON over SSE.
"""

from __future__ import annotations

from dataclasses import dataclass

from tether.types import ApprovalRequest, JSONObject


@dataclass(frozen=True, slots=True)
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    tool_calls: int = 0


@dataclass(frozen=True, slots=True)
class RunStarted:
    conversation_id: str
    model: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    """More of the assistant's answer, as it streams."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    call_id: str
    tool: str
    arguments: JSONObject


@dataclass(frozen=True, slots=True)
class ApprovalWaiting:
    """The call waits for a person: approve or deny ``request.id`` (prompt, web UI, `tether approvals`)."""

    call_id: str
    request: ApprovalRequest


@dataclass(frozen=True, slots=True)
class ToolCallFinished:
    call_id: str
    tool: str
    status: str
    """ok, tool_error, failed, refused, invalid, unknown or cancelled (see ``ChatToolCall.status``)."""
    result: str
    """What the model was shown; the UI shows it collapsed."""
    activity_seq: int | None = None


@dataclass(frozen=True, slots=True)
class TurnFinished:
    text: str
    usage: TokenUsage


@dataclass(frozen=True, slots=True)
class RunCancelled:
    usage: TokenUsage


@dataclass(frozen=True, slots=True)
class RunFailed:
    """The run ended early; ``code`` is a stable error code, e.g. ``model_auth`` or ``tool_call_limit``."""

    code: str
    message: str
    usage: TokenUsage


ChatEvent = (
    RunStarted
    | TextDelta
    | ToolCallStarted
    | ApprovalWaiting
    | ToolCallFinished
    | TurnFinished
    | RunCancelled
    | RunFailed
)
