"""``/mcp``: the gateway over Streamable HTTP, as one self-contained ASGI app.

Checks run in this order: ``Host`` and ``Origin`` against the allow list (DNS rebinding:
421 or 403), the bearer token (401), then the SDK's session manager (body limit: 413; both
protocol versions). ``with_gateway`` puts it in front of another ASGI app at ``/mcp``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import asynccontextmanager

import anyio
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import (
    DEFAULT_MAX_REQUEST_BODY_SIZE,
    TransportSecurityMiddleware,
    TransportSecuritySettings,
)
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tether.core.storage import TokenStore
from tether.gateway.auth import TokenVerifier
from tether.gateway.server import Gateway
from tether.types import ActivityRecord

PATH = "/mcp"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
MAX_BODY_BYTES = DEFAULT_MAX_REQUEST_BODY_SIZE


def allow_list(extra_hosts: Sequence[str] = ()) -> TransportSecuritySettings:
    """Local names (any port) plus ``extra_hosts``, as ``Host`` values and as http(s) origins."""
    names = [*LOCAL_HOSTS, *extra_hosts]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[value for name in names for value in (name, f"{name}:*")],
        allowed_origins=[
            value
            for name in names
            for scheme in ("http", "https")
            for value in (f"{scheme}://{name}", f"{scheme}://{name}:*")
        ],
    )


class GatewayHttp:
    """The ASGI app for ``/mcp``; serve it inside ``async with gateway_http.running():``."""

    def __init__(
        self,
        gateway: Gateway,
        tokens: TokenStore,
        *,
        extra_hosts: Sequence[str] = (),
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.gateway = gateway
        self.verifier = TokenVerifier(tokens)
        security = allow_list(extra_hosts)
        self.manager = StreamableHTTPSessionManager(
            app=gateway.server, security_settings=security, max_request_body_size=max_body_bytes
        )
        sessions = StreamableHTTPASGIApp(self.manager)
        self._app = AuthenticationMiddleware(
            AuthContextMiddleware(RequireAuthMiddleware(sessions, required_scopes=[])),
            backend=BearerAuthBackend(self.verifier),
        )
        self._guard = TransportSecurityMiddleware(security)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # Before the token: a page on another origin learns nothing, not even "401".
            refused = await self._guard.validate_request(Request(scope, receive))
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self._app(scope, receive, send)

    @asynccontextmanager
    async def running(self) -> AsyncGenerator[None]:
        async with self.manager.run(), self.gateway.running(), anyio.create_task_group() as tg:
            tg.start_soon(self._follow_tokens)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()

    async def _follow_tokens(self) -> None:
        with self.gateway.host.events.subscribe() as events:
            async for event in events:
                if isinstance(event, ActivityRecord) and event.kind.startswith("token."):
                    self.verifier.forget()


def with_gateway(app: ASGIApp, gateway: ASGIApp, *, path: str = PATH) -> ASGIApp:
    """``gateway`` at ``path`` (and below), ``app`` for everything else."""

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        request_path = str(scope.get("path", ""))
        if scope["type"] == "http" and (request_path == path or request_path.startswith(path + "/")):
            await gateway(scope, receive, send)
        else:
            await app(scope, receive, send)

    return route
