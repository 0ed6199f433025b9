"""The Streamable HTTP echo server the connector benchmark calls, directly and through tether.

``python bench/http_echo_server.py PORT [TOKEN]``: serves ``echo`` at http://127.0.0.1:PORT/mcp
and, with TOKEN, answers 401 to any request without ``Authorization: Bearer TOKEN``.
"""

from __future__ import annotations

import sys

import uvicorn
from mcp.server.mcpserver import MCPServer
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

server = MCPServer("bench-echo")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


class RequireBearer:
    """Refuse requests without the one static bearer token (a connector with a static header)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != self.expected:
            await JSONResponse({"error": "invalid_token"}, status_code=401)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def main() -> None:
    port, token = int(sys.argv[1]), (sys.argv[2] if len(sys.argv) > 2 else "")
    app: ASGIApp = server.streamable_http_app()
    if token:
        app = RequireBearer(app, token)
    print("echo server ready", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
