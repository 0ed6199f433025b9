"""pydantic-ai's stream events, retold as tether's chat events (text as it streams, tool progress).

The toolset's ``CallLog`` says what each call came to (status, activity row); pydantic-ai
says when. A call that resumes after an approval is reported started only once.
"""

from __future__ import annotations

from collections.abc import AsyncIterable

from pydantic_ai import RunContext
from pydantic_ai.messages import (
    AgentStreamEvent,
    FunctionToolCallEvent,
    FunctionToolResultEvent,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
)
from pydantic_ai.usage import RunUsage

from tether.chat import events
from tether.chat.run import Emit
from tether.chat.toolset import CallLog, CallRecord, HostToolset


class Relay:
    def __init__(self, toolset: HostToolset, log: CallLog, emit: Emit) -> None:
        self._toolset = toolset
        self._log = log
        self._emit = emit
        self._started: set[str] = set()

    async def handle(self, ctx: RunContext[None], stream: AsyncIterable[AgentStreamEvent]) -> None:
        async for event in stream:
            if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart) and event.part.content:
                await self._emit(events.TextDelta(event.part.content))
            elif isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
                if event.delta.content_delta:
                    await self._emit(events.TextDelta(event.delta.content_delta))
            elif isinstance(event, FunctionToolCallEvent):
                call_id, arguments = event.tool_call_id, event.part.args_as_dict()
                if call_id not in self._started:
                    self._started.add(call_id)
                    tool = self._toolset.display_name(event.part.tool_name, arguments)
                    await self._emit(events.ToolCallStarted(call_id, tool, arguments))
            elif isinstance(event, FunctionToolResultEvent):
                record = self._log.records.get(event.tool_call_id)
                if record is None or not record.is_done:
                    record = _settled(event, record)
                await self._emit(
                    events.ToolCallFinished(
                        event.tool_call_id, record.tool, record.status, record.result, record.activity_seq
                    )
                )


def _settled(event: FunctionToolResultEvent, record: CallRecord | None) -> CallRecord:
    """A call pydantic-ai answered itself (an unknown tool, search_tools): as the log will show it."""
    part = event.part
    status = "ok" if part.outcome == "success" else "unknown"
    text = part.model_response_str() if part.outcome == "success" else str(part.content)
    return CallRecord(
        record.tool if record else part.tool_name, record.arguments if record else {}, status, text
    )


def usage_of(usage: RunUsage) -> events.TokenUsage:
    return events.TokenUsage(usage.input_tokens, usage.output_tokens, usage.requests, usage.tool_calls)
