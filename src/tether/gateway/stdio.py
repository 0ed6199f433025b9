"""``tether mcp``: the gateway over stdin/stdout, for a client's ``mcpServers`` entry.

Stdout is the protocol channel: the SDK's stdio transport owns it, and nothing else in the
process may write there (console output goes to stderr). The caller is the local user.
Pipes are read and written on the event loop (``pipes.claimed_stdio``), not in worker threads.
"""

from __future__ import annotations

from typing import cast

import anyio
from mcp.server.stdio import stdio_server

from tether.gateway.pipes import claimed_stdio
from tether.gateway.server import Gateway


async def serve_stdio(gateway: Gateway) -> None:
    """Serve one client on stdin/stdout until it closes stdin."""
    with claimed_stdio() as wire:
        # The SDK reads only ``async for line in stdin`` and calls ``write``/``flush`` on stdout.
        stdin, stdout = (
            (None, None) if wire is None else cast(tuple[anyio.AsyncFile[str], anyio.AsyncFile[str]], wire)
        )
        async with gateway.running(), stdio_server(stdin, stdout) as (read_stream, write_stream):
            await gateway.server.run(
                read_stream, write_stream, gateway.server.create_initialization_options()
            )
