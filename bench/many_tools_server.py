"""A stdio MCP server with 1,000 tools, for the time ``tools/list`` takes through the gateway."""

from __future__ import annotations

from typing import Any

import anyio
from mcp import types
from mcp.server import Server, ServerRequestContext
from mcp.server.caching import CacheHint
from mcp.server.stdio import stdio_server

TOOLS = [
    {
        "name": f"tool_{n:04d}",
        "description": f"Tool number {n}: does one small thing with a text and a count.",
        "inputSchema": {
            "type": "object",
            "properties": {"text": {"type": "string"}, "count": {"type": "integer"}},
            "required": ["text"],
        },
    }
    for n in range(1000)
]


async def list_tools(
    ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams
) -> dict[str, Any]:
    return {"tools": TOOLS, "resultType": "complete"}


async def main() -> None:
    server: Server[Any] = Server("many-tools", cache_hints={"tools/list": CacheHint()})
    server.add_request_handler("tools/list", types.PaginatedRequestParams, list_tools)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
