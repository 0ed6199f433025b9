"""An MCP server that wrongly prints to stdout before speaking MCP (or never speaks it).

``python garbage_server.py then-serve`` prints junk, then serves one tool, ``ping``;
``python garbage_server.py forever`` prints junk and then never answers anything.
The junk comes first, before the slow ``mcp`` import, so it is out before any timeout.
"""

from __future__ import annotations

import sys


def serve() -> None:
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("garbage")

    @server.tool()
    def ping() -> str:  # pyright: ignore[reportUnusedFunction]
        """Answer pong."""
        return "pong"

    server.run()


if __name__ == "__main__":
    print("Loading configuration...")
    print('{"this is": "json but not json-rpc"}')
    print("\x00\xff binary-ish junk", flush=True)
    if sys.argv[1:] == ["then-serve"]:
        serve()
    else:
        for _line in sys.stdin:  # read until tether closes stdin, never answer
            pass
