"""A scripted model for the assistant's tests: pydantic-ai's ``FunctionModel`` answering from a list.

Each step is the parts of one response, or a function of the messages so far that returns
them (to read what the tools answered). Text streams in small pieces, as a real model's does.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence

from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel

Part = TextPart | ToolCallPart
Step = Sequence[Part] | Callable[[list[ModelMessage]], Sequence[Part]]
CHUNK_CHARS = 4


def text(content: str) -> TextPart:
    return TextPart(content)


def call(tool: str, arguments: dict[str, object], call_id: str) -> ToolCallPart:
    return ToolCallPart(tool, dict(arguments), tool_call_id=call_id)


def returns(messages: Sequence[ModelMessage]) -> dict[str, ToolReturnPart]:
    """The tool results the model is shown in its latest request, by call id."""
    return {p.tool_call_id: p for p in messages[-1].parts if isinstance(p, ToolReturnPart)}


class Script:
    def __init__(self, *steps: Step, then: Step | None = None) -> None:
        self.steps = list(steps)
        self.then = then
        """What to answer once the steps are used up (e.g. a model that loops on a tool)."""
        self.seen: list[list[ModelMessage]] = []
        self.tools: list[list[str]] = []
        """The tool names the model was offered, request by request."""

    def model(self) -> FunctionModel:
        return FunctionModel(self._respond, stream_function=self._stream, model_name="scripted")

    def _next(self, messages: list[ModelMessage], info: AgentInfo) -> list[Part]:
        self.seen.append(messages)
        self.tools.append([t.name for t in info.function_tools])
        step = self.steps.pop(0) if self.steps else self.then
        if step is None:
            raise AssertionError("the script has no more steps")
        return list(step(messages) if callable(step) else step)

    def _respond(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=self._next(messages, info))

    async def _stream(
        self, messages: list[ModelMessage], info: AgentInfo
    ) -> AsyncIterator[str | DeltaToolCalls]:
        for index, part in enumerate(self._next(messages, info)):
            if isinstance(part, TextPart):
                for start in range(0, len(part.content), CHUNK_CHARS):
                    yield part.content[start : start + CHUNK_CHARS]
            else:
                arguments = json.dumps(part.args)
                yield {index: DeltaToolCall(part.tool_name, arguments, tool_call_id=part.tool_call_id)}
