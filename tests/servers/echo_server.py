"""A small real MCP server for the runner tests, run as a child process over stdio.

Tools: echo, add, slow (sleeps), crash (exits mid-call), grow (adds a tool and says the
list changed), shout (writes to stderr). It also offers one prompt and one resource.
With ECHO_DESCRIPTION_FILE set, echo's description is read from that file at start.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("echo")


@server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
async def slow(seconds: float) -> str:
    """Answer after ``seconds``."""
    await anyio.sleep(seconds)
    return f"slept {seconds:g} s"


@server.tool(annotations=ToolAnnotations(destructive_hint=True))
def crash() -> str:
    """Exit the whole server in the middle of the call."""
    print("crashing on purpose", file=sys.stderr, flush=True)
    os._exit(1)


@server.tool()
def shout(text: str) -> str:
    """Write ``text`` to stderr."""
    print(text, file=sys.stderr, flush=True)
    return "written"


def extra() -> str:
    """A tool that exists only after ``grow``."""
    return "extra"


@server.tool()
async def grow(ctx: Context[Any, Any]) -> str:
    """Add the tool ``extra`` and tell the client the tool list changed."""
    server.add_tool(extra, name="extra")
    await ctx.notify_tools_changed()  # 2026-07-28: reaches clients through subscriptions/listen
    await ctx.session.send_tool_list_changed()  # 2025-11-25: a plain notification
    return "grown"


@server.prompt()
def greet(name: str) -> str:
    """Greet someone."""
    return f"Hello {name}"


@server.resource("memo://note", mime_type="text/plain")
def note() -> str:
    """A short note."""
    return "a note"


if __name__ == "__main__":
    print("echo server starting", file=sys.stderr, flush=True)
    if description_file := os.environ.get("ECHO_DESCRIPTION_FILE"):
        # Lets a test change the echo tool's definition between runs (a "rug pull").
        server.remove_tool("echo")
        server.add_tool(
            echo,
            name="echo",
            description=Path(description_file).read_text(),
            annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
        )
    server.run()
