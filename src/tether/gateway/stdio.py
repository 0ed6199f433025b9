"""``tether mcp``: the gateway over stdin/stdout, for a client's ``mcpServers`` entry.

Stdout is the protocol channel: the SDK's stdio transport owns it, and nothing else in the
process may write there (console output goes to stderr). The caller is the local user.
"""

from __future__ import annotations

from mcp.server.stdio import stdio_server

from tether.gateway.server import Gateway


async def serve_stdio(gateway: Gateway) -> None:
    """Serve one client on stdin/stdout until it closes stdin."""
    async with gateway.running(), stdio_server() as (read_stream, write_stream):
        await gateway.server.run(read_stream, write_stream, gateway.server.create_initialization_options())
