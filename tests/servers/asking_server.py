"""A source that asks its client things mid-call, for the pass-through tests; stdio or HTTP.

Tools: ``ask`` samples the client's model, elicits a choice from its user and logs, then
answers with what it got (2025-11-25: requests during the call; 2026-07-28: an input_required
result); ``sample_later`` samples after its call has returned, ``outside_answer`` says what that
got; ``touch`` says resource ``note://watched`` changed; ``hold`` runs until ``release``. Also
one prompt, one resource, one resource template (``note://{name}``) and resource subscriptions.
"""

from __future__ import annotations

import os
from typing import Any, cast

import anyio
import anyio.abc
from mcp import MCPError, types
from mcp.server import Server, ServerRequestContext
from mcp.server.caching import CACHEABLE_METHODS, CacheableMethod, CacheHint
from mcp.server.session import ServerSession
from mcp.server.stdio import stdio_server
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ResourceUpdated
from mcp.shared.message import ServerMessageMetadata
from mcp.types.version import MODERN_PROTOCOL_VERSIONS
from starlette.types import ASGIApp

Ctx = ServerRequestContext[Any, Any]
EMPTY: dict[str, Any] = {"type": "object", "properties": {}}
WATCHED = "note://watched"
CHOICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"colour": {"type": "string", "title": "Favourite colour"}},
    "required": ["colour"],
}
TOOLS: list[dict[str, Any]] = [
    {"name": "ask", "description": "Sample, elicit and log, then answer.", "inputSchema": EMPTY},
    {"name": "sample_later", "description": "Sample after the call returned.", "inputSchema": EMPTY},
    {"name": "outside_answer", "description": "What sample_later got.", "inputSchema": EMPTY},
    {"name": "touch", "description": "Say note://watched changed.", "inputSchema": EMPTY},
    {"name": "hold", "description": "Report progress, then wait for release.", "inputSchema": EMPTY},
    {"name": "release", "description": "End the holding call.", "inputSchema": EMPTY},
    {"name": "crash", "description": "Exit the whole server.", "inputSchema": EMPTY},
]


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def sampling_request(include_context: Any = None) -> types.CreateMessageRequest:
    message = types.SamplingMessage(role="user", content=types.TextContent(type="text", text="say hi"))
    return types.CreateMessageRequest(
        params=types.CreateMessageRequestParams(
            messages=[message], max_tokens=20, include_context=include_context
        )
    )


def elicit_request() -> types.ElicitRequest:
    return types.ElicitRequest(
        params=types.ElicitRequestFormParams(message="pick a colour", requested_schema=CHOICE_SCHEMA)
    )


def describe(sampled: object, elicited: object) -> str:
    if isinstance(sampled, types.CreateMessageResult):
        said = sampled.content.text if isinstance(sampled.content, types.TextContent) else "?"
    else:
        said = f"error: {sampled}"
    if isinstance(elicited, types.ElicitResult):
        answer = f"{elicited.action} {elicited.content or {}}"
    else:
        answer = f"error: {elicited}"
    return f"sampled: {said}; elicited: {answer}"


class Asking:
    def __init__(self) -> None:
        self.bus = InMemorySubscriptionBus()
        self.tg: anyio.abc.TaskGroup | None = None
        self.outside: str | None = None
        self.outside_done = anyio.Event()
        self.subscribers: dict[str, list[ServerSession]] = {}
        self.server: Server[Any] | None = None
        self.released = anyio.Event()

    def drop_sessions(self) -> int:
        """Forget every 2025-11-25 HTTP session, as a restart would: their ids now answer 404."""
        assert self.server is not None
        sessions = self.server.session_manager._server_instances  # pyright: ignore[reportPrivateUsage]
        count = len(sessions)
        sessions.clear()
        return count

    async def call_tool(self, ctx: Ctx, params: types.CallToolRequestParams) -> Any:
        if params.name == "ask":
            return await self._ask(ctx, params)
        if params.name == "sample_later":
            assert self.tg is not None
            self.tg.start_soon(self._sample_outside, ctx.session)
            return {"content": [text("will sample")], "isError": False}
        if params.name == "outside_answer":
            with anyio.fail_after(20):
                await self.outside_done.wait()
            return {"content": [text(self.outside or "")], "isError": False}
        if params.name == "hold":
            await ctx.session.report_progress(0, 1, "holding")
            with anyio.fail_after(20):
                await self.released.wait()
            self.released = anyio.Event()
            return {"content": [text("released")], "isError": False}
        if params.name == "crash":
            os._exit(1)
        if params.name == "release":
            self.released.set()
            return {"content": [text("released it")], "isError": False}
        if params.name == "touch":
            await self.bus.publish(ResourceUpdated(uri=WATCHED))
            for session in self.subscribers.get(WATCHED, []):
                await session.send_resource_updated(WATCHED)
            return {"content": [text("touched")], "isError": False}
        return {"content": [text(f"no tool {params.name}")], "isError": True}

    async def _ask(self, ctx: Ctx, params: types.CallToolRequestParams) -> Any:
        log = types.LoggingMessageNotification(
            params=types.LoggingMessageNotificationParams(level="info", logger="asker", data="asking now")
        )
        if params.input_responses is None:  # a 2026-07-28 retry does not log again
            await ctx.session.send_notification(log, related_request_id=ctx.request_id)
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            responses = params.input_responses
            if responses is None:
                return types.InputRequiredResult(
                    input_requests={"sample": sampling_request(), "choice": elicit_request()},
                    request_state="asked",
                )
            return {"content": [text(describe(responses.get("sample"), responses.get("choice")))]}
        related = ServerMessageMetadata(related_request_id=ctx.request_id)
        sampled: object
        elicited: object
        try:
            include_context = (params.arguments or {}).get("include_context")
            sampled = await ctx.session.send_request(
                sampling_request(include_context), types.CreateMessageResult, metadata=related
            )
        except MCPError as error:
            sampled = error.message
        try:
            elicited = await ctx.session.send_request(elicit_request(), types.ElicitResult, metadata=related)
        except MCPError as error:
            elicited = error.message
        return {"content": [text(describe(sampled, elicited))], "isError": False}

    async def _sample_outside(self, session: ServerSession) -> None:
        try:
            sampled = await session.send_request(sampling_request(), types.CreateMessageResult)
            self.outside = f"sampled: {sampled.content}"
        except MCPError as error:
            self.outside = f"error: {error.message}"
        self.outside_done.set()

    async def subscribe(self, ctx: Ctx, params: types.SubscribeRequestParams) -> dict[str, Any]:
        self.subscribers.setdefault(params.uri, []).append(ctx.session)
        return {}

    async def unsubscribe(self, ctx: Ctx, params: types.UnsubscribeRequestParams) -> dict[str, Any]:
        self.subscribers.pop(params.uri, None)
        return {}


async def list_tools(ctx: Ctx, params: types.PaginatedRequestParams) -> dict[str, Any]:
    return {"tools": TOOLS}


async def list_prompts(ctx: Ctx, params: types.PaginatedRequestParams) -> dict[str, Any]:
    return {"prompts": [{"name": "greet", "arguments": [{"name": "name", "required": True}]}]}


async def get_prompt(ctx: Ctx, params: types.GetPromptRequestParams) -> dict[str, Any]:
    if params.name != "greet":
        raise MCPError(types.INVALID_PARAMS, f"no prompt {params.name}")
    name = (params.arguments or {}).get("name", "")
    return {"messages": [{"role": "user", "content": text(f"Hello {name}")}]}


async def list_resources(ctx: Ctx, params: types.PaginatedRequestParams) -> dict[str, Any]:
    return {"resources": [{"uri": WATCHED, "name": "watched", "mimeType": "text/plain"}]}


async def list_templates(ctx: Ctx, params: types.PaginatedRequestParams) -> dict[str, Any]:
    return {
        "resourceTemplates": [
            {"uriTemplate": "note://{name}", "name": "note", "description": "A note by name."}
        ]
    }


async def read_resource(ctx: Ctx, params: types.ReadResourceRequestParams) -> dict[str, Any]:
    name = str(params.uri).removeprefix("note://")
    return {"contents": [{"uri": str(params.uri), "mimeType": "text/plain", "text": f"note {name}"}]}


def complete(handler: Any) -> Any:
    async def wrapped(ctx: Ctx, params: Any) -> Any:
        result: Any = await handler(ctx, params)
        if isinstance(result, dict):
            return {"resultType": "complete", **cast(dict[str, Any], result)}
        return result

    return wrapped


def build(asking: Asking) -> Server[Any]:
    hints: dict[CacheableMethod, CacheHint] = {
        cast(CacheableMethod, method): CacheHint(ttl_ms=0) for method in CACHEABLE_METHODS
    }
    server: Server[Any] = Server(
        "asking", cache_hints=hints, on_subscriptions_listen=ListenHandler(asking.bus)
    )
    handlers: list[tuple[str, type[Any], Any]] = [
        ("tools/list", types.PaginatedRequestParams, list_tools),
        ("tools/call", types.CallToolRequestParams, asking.call_tool),
        ("prompts/list", types.PaginatedRequestParams, list_prompts),
        ("prompts/get", types.GetPromptRequestParams, get_prompt),
        ("resources/list", types.PaginatedRequestParams, list_resources),
        ("resources/templates/list", types.PaginatedRequestParams, list_templates),
        ("resources/read", types.ReadResourceRequestParams, read_resource),
        ("resources/subscribe", types.SubscribeRequestParams, asking.subscribe),
        ("resources/unsubscribe", types.UnsubscribeRequestParams, asking.unsubscribe),
    ]
    for method, params_type, handler in handlers:
        server.add_request_handler(method, params_type, complete(handler))
    return server


def http_app(asking: Asking) -> ASGIApp:
    """The server over Streamable HTTP at ``/mcp``; ``asking.tg`` must be set before calls."""
    server = build(asking)
    app = server.streamable_http_app()
    asking.server = server
    return app


async def main() -> None:
    asking = Asking()
    server = build(asking)
    async with anyio.create_task_group() as tg, stdio_server() as (read_stream, write_stream):
        asking.tg = tg
        await server.run(read_stream, write_stream, server.create_initialization_options())
        tg.cancel_scope.cancel()


if __name__ == "__main__":
    anyio.run(main)
