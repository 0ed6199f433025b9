"""What a gateway call answers: the source's result as it came, or tether's refusal as a tool error.

Content blocks (text, images, audio, embedded resources) and structured content pass through
as the source sent them. Refusals carry tether's own message and error code; a source's failure
names the source, so a client (and its model) can tell who said no and why.
"""

from __future__ import annotations

from typing import Any

from tether.errors import SourceError, TetherError
from tether.types import ToolResult

WireObject = dict[str, Any]


def wire_result(result: ToolResult) -> WireObject:
    """A ``tools/call`` result with the source's content blocks and structured content unchanged."""
    wire: WireObject = {
        "content": [dict(block) for block in result.content],
        "isError": result.is_error,
        "resultType": "complete",
    }
    if result.structured is not None:
        wire["structuredContent"] = dict(result.structured)
    return wire


def error_result(message: str, *, code: str | None = None) -> WireObject:
    wire: WireObject = {
        "content": [{"type": "text", "text": message}],
        "isError": True,
        "resultType": "complete",
    }
    if code is not None:
        wire["_meta"] = {"tether/error": code}
    return wire


def refusal(error: TetherError, *, source: str | None = None) -> WireObject:
    """A tether error as a tool error: its message (naming the source for source failures) and code."""
    message = error.message
    if isinstance(error, SourceError) and source is not None and f"'{source}'" not in message:
        message = f"source '{source}' failed: {message}"
    return error_result(f"{message} [{error.code}]", code=error.code)
