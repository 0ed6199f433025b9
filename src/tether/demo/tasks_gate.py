"""The door of the demo server's MCP endpoint: bearer tokens, scopes and step-up.

No token (or a bad one) gets 401 with an RFC 9728 ``resource_metadata`` challenge; a
``tools/call`` of a tool that writes, with a token lacking ``tasks:write``, gets 403
``insufficient_scope`` so the client can ask for more. The user behind the token is put
where the tools find it (the SDK's auth context).
"""

from __future__ import annotations

import json
from typing import Any, cast

from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tether.demo.tasks_auth import ALL_SCOPES, READ, WRITE, DemoAuthServer

WRITING_TOOLS = frozenset({"create_project", "create_task", "update_task", "add_comment", "enable_archiving"})
STATIC_USER = "static"


class TokenGate:
    """ASGI middleware in front of the MCP endpoint at ``path``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        path: str,
        metadata_url: str,
        authority: DemoAuthServer | None,
        static_token: str | None = None,
        anonymous_user: str | None = None,
    ) -> None:
        self.app = app
        self.path = path
        self.metadata_url = metadata_url
        self.authority = authority
        self.static_token = static_token
        self.anonymous_user = anonymous_user

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        token = await self._token(scope)
        if token is None:
            await self._refuse(send, 401, "invalid_token", "sign in first")
            return
        if scope["method"] == "POST" and WRITE not in token.scopes:
            body, receive = await _peek_body(receive)
            if _calls_a_writing_tool(body):
                await self._refuse(send, 403, "insufficient_scope", "writing needs tasks:write", ALL_SCOPES)
                return
        scope["user"] = AuthenticatedUser(token)
        reset = auth_context_var.set(scope["user"])
        try:
            await self.app(scope, receive, send)
        finally:
            auth_context_var.reset(reset)

    async def _token(self, scope: Scope) -> AccessToken | None:
        if self.anonymous_user is not None:
            return AccessToken(
                token="", client_id="anonymous", scopes=list(ALL_SCOPES), subject=self.anonymous_user
            )
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        if not header.lower().startswith("bearer "):
            return None
        presented = header[7:].strip()
        if self.static_token is not None:
            if presented != self.static_token:
                return None
            return AccessToken(token="", client_id="static", scopes=list(ALL_SCOPES), subject=STATIC_USER)
        assert self.authority is not None
        found = await self.authority.load_access_token(presented)
        if found is None or (found.resource or "").rstrip("/") != self.authority.resource_url.rstrip("/"):
            return None
        return found

    async def _refuse(
        self, send: Send, status: int, error: str, description: str, scopes: tuple[str, ...] | None = None
    ) -> None:
        challenge_scopes = scopes or (
            (READ,) if self.authority is not None and self.authority.quirks.step_up else ALL_SCOPES
        )
        parts = [
            f'error="{error}"',
            f'error_description="{description}"',
            f'scope="{" ".join(challenge_scopes)}"',
        ]
        if self.authority is not None:
            parts.append(f'resource_metadata="{self.metadata_url}"')
        body = json.dumps({"error": error, "error_description": description}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", f"Bearer {', '.join(parts)}".encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def _peek_body(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole request body, and give back a ``receive`` that replays it."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def _calls_a_writing_tool(body: bytes) -> bool:
    try:
        message: Any = json.loads(body)
    except ValueError:
        return False
    messages = cast(list[Any], message) if isinstance(message, list) else [message]
    for item in messages:
        if not isinstance(item, dict):
            continue
        call = cast(dict[str, Any], item)
        params = call.get("params")
        is_call = call.get("method") == "tools/call" and isinstance(params, dict)
        if is_call and cast(dict[str, Any], params).get("name") in WRITING_TOOLS:
            return True
    return False
