"""A conformance-style MCP server (the tools, prompts and resources the official suite's server
scenarios call), run over stdio as a source behind the gateway. Also ``slow_with_progress``,
which reports progress once and then waits, for the tests that leave mid-call."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp import MCPError, types
from mcp.server import Server, ServerRequestContext
from mcp.server.caching import CacheableMethod, CacheHint
from mcp.server.stdio import stdio_server
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler
from mcp.shared.message import ServerMessageMetadata
from mcp.types.version import MODERN_PROTOCOL_VERSIONS

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
WAV = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA="
EMPTY: dict[str, Any] = {"type": "object", "properties": {}}
Ctx = ServerRequestContext[Any, Any]

TOOLS: list[dict[str, Any]] = [
    {"name": "test_simple_text", "description": "Simple text.", "inputSchema": EMPTY},
    {"name": "test_image_content", "description": "An image.", "inputSchema": EMPTY},
    {"name": "test_audio_content", "description": "Audio.", "inputSchema": EMPTY},
    {"name": "test_embedded_resource", "description": "An embedded resource.", "inputSchema": EMPTY},
    {"name": "test_multiple_content_types", "description": "Mixed content.", "inputSchema": EMPTY},
    {"name": "test_error_handling", "description": "Always an error.", "inputSchema": EMPTY},
    {"name": "test_tool_with_progress", "description": "Reports progress.", "inputSchema": EMPTY},
    {"name": "test_tool_with_logging", "description": "Logs three messages.", "inputSchema": EMPTY},
    {
        "name": "json_schema_2020_12_tool",
        "description": "Tool with JSON Schema 2020-12 features",
        "inputSchema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {
                "address": {
                    "type": "object",
                    "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
                }
            },
            "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
            "additionalProperties": False,
        },
    },
    {
        "name": "test_sampling",
        "description": "Asks the client's model.",
        "inputSchema": {
            "type": "object",
            "properties": {"prompt": {"type": "string"}},
            "required": ["prompt"],
        },
    },
    {
        "name": "test_elicitation",
        "description": "Asks the client's user.",
        "inputSchema": {
            "type": "object",
            "properties": {"message": {"type": "string"}},
            "required": ["message"],
        },
    },
    {
        "name": "test_elicitation_sep1034_defaults",
        "description": "Elicits with defaults.",
        "inputSchema": EMPTY,
    },
    {"name": "test_elicitation_sep1330_enums", "description": "Elicits with enums.", "inputSchema": EMPTY},
    {
        "name": "slow_with_progress",
        "description": "Report progress once, then wait.",
        "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}}},
    },
]


LOG_MESSAGES = ("Tool execution started", "Tool processing data", "Tool execution completed")
ENUM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
        "titledSingle": {
            "type": "string",
            "oneOf": [
                {"const": "value1", "title": "First Option"},
                {"const": "value2", "title": "Second Option"},
                {"const": "value3", "title": "Third Option"},
            ],
        },
        "legacyEnum": {
            "type": "string",
            "enum": ["opt1", "opt2", "opt3"],
            "enumNames": ["Option One", "Option Two", "Option Three"],
        },
        "untitledMulti": {
            "type": "array",
            "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
        },
        "titledMulti": {
            "type": "array",
            "items": {
                "anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"},
                ]
            },
        },
    },
}
DEFAULTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "default": "John Doe"},
        "age": {"type": "integer", "default": 30},
        "score": {"type": "number", "default": 95.5},
        "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
        "verified": {"type": "boolean", "default": True},
    },
}
USER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"username": {"type": "string"}, "email": {"type": "string"}},
    "required": ["username", "email"],
}
ASKING_TOOLS = {
    "test_sampling",
    "test_elicitation",
    "test_elicitation_sep1034_defaults",
    "test_elicitation_sep1330_enums",
}


def input_request(params: types.CallToolRequestParams) -> types.CreateMessageRequest | types.ElicitRequest:
    """What the tool asks its client: a sampling or an elicitation request."""
    arguments = params.arguments or {}
    if params.name == "test_sampling":
        message = types.SamplingMessage(
            role="user", content=types.TextContent(type="text", text=str(arguments.get("prompt", "")))
        )
        return types.CreateMessageRequest(
            params=types.CreateMessageRequestParams(messages=[message], max_tokens=100)
        )
    schema = {
        "test_elicitation": USER_SCHEMA,
        "test_elicitation_sep1034_defaults": DEFAULTS_SCHEMA,
        "test_elicitation_sep1330_enums": ENUM_SCHEMA,
    }[params.name]
    message = str(arguments.get("message", "Please fill in the form"))
    return types.ElicitRequest(
        params=types.ElicitRequestFormParams.model_validate({"message": message, "requestedSchema": schema})
    )


def answer_text(name: str, answer: object) -> dict[str, Any]:
    if isinstance(answer, types.CreateMessageResult) and isinstance(answer.content, types.TextContent):
        return text(f"LLM response: {answer.content.text}")
    if isinstance(answer, types.ElicitResult):
        return text(f"Elicitation completed: action={answer.action}, content={json.dumps(answer.content)}")
    return text(f"{name}: the client answered {answer!r}")


async def ask_client(ctx: Ctx, params: types.CallToolRequestParams) -> Any:
    """Ask during the call (2025-11-25) or with an input_required result (2026-07-28)."""
    request = input_request(params)
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        responses = params.input_responses
        if responses is None:
            return types.InputRequiredResult(input_requests={"ask": request}, request_state="asked")
        return {"content": [answer_text(params.name, responses.get("ask"))], "isError": False}
    result_type = types.CreateMessageResult if params.name == "test_sampling" else types.ElicitResult
    try:
        answer = await ctx.session.send_request(
            request, result_type, metadata=ServerMessageMetadata(related_request_id=ctx.request_id)
        )
    except MCPError as error:
        return {"content": [text(f"the client could not answer: {error.message}")], "isError": True}
    return {"content": [answer_text(params.name, answer)], "isError": False}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


async def call_tool(ctx: Ctx, params: types.CallToolRequestParams) -> dict[str, Any]:
    name = params.name
    if name == "test_simple_text":
        content = [text("This is a simple text response for testing.")]
    elif name == "test_image_content":
        content = [{"type": "image", "data": PNG, "mimeType": "image/png"}]
    elif name == "test_audio_content":
        content = [{"type": "audio", "data": WAV, "mimeType": "audio/wav"}]
    elif name == "test_embedded_resource":
        resource = {
            "uri": "test://embedded-resource",
            "mimeType": "text/plain",
            "text": "This is an embedded resource content.",
        }
        content = [{"type": "resource", "resource": resource}]
    elif name == "test_multiple_content_types":
        resource = {
            "uri": "test://mixed-content-resource",
            "mimeType": "application/json",
            "text": json.dumps({"test": "data", "value": 123}),
        }
        content = [
            text("Multiple content types test:"),
            {"type": "image", "data": PNG, "mimeType": "image/png"},
            {"type": "resource", "resource": resource},
        ]
    elif name == "test_error_handling":
        return {"content": [text("This tool intentionally returns an error for testing")], "isError": True}
    elif name == "test_tool_with_progress":
        for step in (0, 50, 100):
            await ctx.session.report_progress(step, 100)
            if step < 100:
                await anyio.sleep(0.05)
        content = [text("progress reported")]
    elif name == "test_tool_with_logging":
        for step, message in enumerate(LOG_MESSAGES):
            if step:
                await anyio.sleep(0.05)
            log = types.LoggingMessageNotification(
                params=types.LoggingMessageNotificationParams(level="info", data=message)
            )
            await ctx.session.send_notification(log, related_request_id=ctx.request_id)
        content = [text("Tool execution completed")]
    elif name in ASKING_TOOLS:
        return await ask_client(ctx, params)
    elif name == "slow_with_progress":
        await ctx.session.report_progress(0, 1, "started")
        await anyio.sleep(float((params.arguments or {}).get("seconds", 30)))
        content = [text("finished")]
    else:
        return {"content": [text(f"no tool {name}")], "isError": True}
    return {"content": content, "isError": False}


PROMPTS = [
    {"name": "test_simple_prompt", "description": "A simple prompt."},
    {
        "name": "test_prompt_with_arguments",
        "description": "A prompt with arguments.",
        "arguments": [{"name": "arg1", "required": True}, {"name": "arg2", "required": True}],
    },
    {
        "name": "test_prompt_with_embedded_resource",
        "description": "A prompt with an embedded resource.",
        "arguments": [{"name": "resourceUri", "required": True}],
    },
    {"name": "test_prompt_with_image", "description": "A prompt with an image."},
]


async def get_prompt(ctx: Ctx, params: types.GetPromptRequestParams) -> dict[str, Any]:
    args = params.arguments or {}
    if params.name == "test_simple_prompt":
        messages = [{"role": "user", "content": text("This is a simple prompt for testing.")}]
    elif params.name == "test_prompt_with_arguments":
        messages = [
            {
                "role": "user",
                "content": text(
                    f"Prompt with arguments: arg1='{args.get('arg1')}', arg2='{args.get('arg2')}'"
                ),
            }
        ]
    elif params.name == "test_prompt_with_embedded_resource":
        resource = {
            "uri": args.get("resourceUri", ""),
            "mimeType": "text/plain",
            "text": "Embedded resource content for testing.",
        }
        messages = [
            {"role": "user", "content": {"type": "resource", "resource": resource}},
            {"role": "user", "content": text("Please process the embedded resource above.")},
        ]
    else:
        messages = [
            {"role": "user", "content": {"type": "image", "data": PNG, "mimeType": "image/png"}},
            {"role": "user", "content": text("Please analyze the image above.")},
        ]
    return {"messages": messages}


RESOURCES = [
    {
        "uri": "test://static-text",
        "name": "static-text",
        "description": "Static text.",
        "mimeType": "text/plain",
    },
    {
        "uri": "test://static-binary",
        "name": "static-binary",
        "description": "Static binary.",
        "mimeType": "image/png",
    },
    {
        "uri": "test://watched-resource",
        "name": "watched-resource",
        "description": "A resource clients subscribe to.",
        "mimeType": "text/plain",
    },
]
TEMPLATES = [
    {
        "uriTemplate": "test://template/{id}/data",
        "name": "template",
        "description": "Data by id.",
        "mimeType": "application/json",
    }
]


async def read_resource(ctx: Ctx, params: types.ReadResourceRequestParams) -> dict[str, Any]:
    uri = str(params.uri)
    if uri.startswith("test://template/") and uri.endswith("/data"):
        item = uri.removeprefix("test://template/").removesuffix("/data")
        data = json.dumps({"id": item, "templateTest": True, "data": f"Data for ID: {item}"})
        return {"contents": [{"uri": uri, "mimeType": "application/json", "text": data}]}
    if uri == "test://watched-resource":
        return {"contents": [{"uri": uri, "mimeType": "text/plain", "text": "Watched resource content"}]}
    if params.uri == "test://static-text":
        return {
            "contents": [
                {
                    "uri": params.uri,
                    "mimeType": "text/plain",
                    "text": "This is the content of the static text resource.",
                }
            ]
        }
    return {"contents": [{"uri": params.uri, "mimeType": "image/png", "blob": PNG}]}


async def list_templates(ctx: Ctx, params: types.PaginatedRequestParams) -> dict[str, Any]:
    return {"resourceTemplates": TEMPLATES}


async def subscribe(ctx: Ctx, params: types.SubscribeRequestParams) -> dict[str, Any]:
    return {}  # nothing here ever changes: subscribing is accepted and stays quiet


async def list_tools(ctx: Ctx, params: types.PaginatedRequestParams) -> dict[str, Any]:
    return {"tools": TOOLS}


async def list_prompts(ctx: Ctx, params: types.PaginatedRequestParams) -> dict[str, Any]:
    return {"prompts": PROMPTS}


async def list_resources(ctx: Ctx, params: types.PaginatedRequestParams) -> dict[str, Any]:
    return {"resources": RESOURCES}


def complete(handler: Callable[[Ctx, Any], Awaitable[Any]]) -> Callable[[Ctx, Any], Awaitable[Any]]:
    """2026-07-28 results name their type; older clients ignore the field. An
    ``InputRequiredResult`` names its own."""

    async def wrapped(ctx: Ctx, params: Any) -> Any:
        result = await handler(ctx, params)
        if isinstance(result, types.InputRequiredResult):
            return result
        return {"resultType": "complete", **result}

    return wrapped


def build() -> Server[Any]:
    hints: dict[CacheableMethod, CacheHint] = {
        "tools/list": CacheHint(),
        "prompts/list": CacheHint(),
        "resources/list": CacheHint(),
        "resources/read": CacheHint(),
        "resources/templates/list": CacheHint(),
    }
    # 2026-07-28 clients (tether) subscribe to resources on a listen stream; nothing is published.
    listen = ListenHandler(InMemorySubscriptionBus())
    server: Server[Any] = Server("conformance-source", cache_hints=hints, on_subscriptions_listen=listen)
    server.add_request_handler("tools/list", types.PaginatedRequestParams, complete(list_tools))
    server.add_request_handler("tools/call", types.CallToolRequestParams, complete(call_tool))
    server.add_request_handler("prompts/list", types.PaginatedRequestParams, complete(list_prompts))
    server.add_request_handler("prompts/get", types.GetPromptRequestParams, complete(get_prompt))
    server.add_request_handler("resources/list", types.PaginatedRequestParams, complete(list_resources))
    server.add_request_handler("resources/read", types.ReadResourceRequestParams, complete(read_resource))
    server.add_request_handler(
        "resources/templates/list", types.PaginatedRequestParams, complete(list_templates)
    )
    server.add_request_handler("resources/subscribe", types.SubscribeRequestParams, complete(subscribe))
    server.add_request_handler("resources/unsubscribe", types.UnsubscribeRequestParams, complete(subscribe))
    return server


async def main() -> None:
    server = build()
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
