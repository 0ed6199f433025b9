"""A scripted OpenAI-compatible chat server for 127.0.0.1: streams what a script says, as the API does.

It answers ``POST /v1/chat/completions`` (streamed or not) with the next scripted reply: text,
or one tool call. Requests are kept, so a test can read what the model was sent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass(frozen=True)
class Reply:
    text: str = ""
    tool: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict[str, Any])


@dataclass
class ChatServer:
    replies: list[Reply]
    requests: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self._complete, methods=["POST"])])

    async def _complete(self, request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        self.requests.append(body)
        reply = self.replies.pop(0) if self.replies else Reply("(no more replies)")
        if not body.get("stream"):
            return JSONResponse(_completion(reply))
        return StreamingResponse(_chunks(reply), media_type="text/event-stream")


def _completion(reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.tool:
        message["tool_calls"] = [_tool_call(reply)]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "scripted",
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if reply.tool else "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


async def _chunks(reply: Reply) -> AsyncIterator[str]:
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": reply.text[i : i + 5]} for i in range(0, len(reply.text), 5)]
    if reply.tool:
        deltas.append({"tool_calls": [{"index": 0, **_tool_call(reply)}]})
    for delta in deltas:
        yield _event({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    finish = "tool_calls" if reply.tool else "stop"
    yield _event({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    yield _event({"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})
    yield "data: [DONE]\n\n"


def _tool_call(reply: Reply) -> dict[str, Any]:
    arguments = json.dumps(reply.arguments)
    return {"id": "call_1", "type": "function", "function": {"name": reply.tool, "arguments": arguments}}


def _event(chunk: dict[str, Any]) -> str:
    full = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "scripted", **chunk}
    return f"data: {json.dumps(full)}\n\n"
