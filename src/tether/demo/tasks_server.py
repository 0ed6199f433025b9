"""The reference tasks server: a small real remote MCP server with its own OAuth 2.1 server.

Routes (all on one origin):

    /mcp                                       Streamable HTTP, behind TokenGate
    /.well-known/oauth-protected-resource/mcp  RFC 9728 resource metadata
    /.well-known/oauth-authorization-server    RFC 8414 metadata (S256, DCR, revocation)
    /authorize /consent /token /register /revoke  (/token also takes client_credentials)

Consent is a plain HTML form a test (or ``curl``) can POST; ``Quirks`` misbehave on purpose.
"""

from __future__ import annotations

import html
import socket
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mcp.server.auth.handlers.authorize import AuthorizationHandler
from mcp.server.auth.handlers.metadata import MetadataHandler, ProtectedResourceMetadataHandler
from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.handlers.revoke import RevocationHandler
from mcp.server.auth.handlers.token import TokenHandler
from mcp.server.auth.middleware.client_auth import AuthenticationError, ClientAuthenticator
from mcp.server.auth.provider import TokenError
from mcp.server.auth.routes import build_metadata, build_resource_metadata_url
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import ProtectedResourceMetadata
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from tether.demo.tasks_auth import ALL_SCOPES, DemoAuthServer, Quirks
from tether.demo.tasks_data import TaskStore
from tether.demo.tasks_gate import TokenGate
from tether.demo.tasks_tools import build_tasks_mcp

AuthMode = Literal["oauth", "static", "none"]
MCP_PATH = "/mcp"


@dataclass
class TasksServer:
    """Everything one running tasks server holds; tests reach in to flip quirks."""

    base_url: str
    app: Starlette
    store: TaskStore
    authority: DemoAuthServer
    mcp: MCPServer
    quirks: Quirks = field(default_factory=Quirks)

    @property
    def mcp_url(self) -> str:
        return self.base_url + MCP_PATH

    def drop_sessions(self) -> int:
        """Forget every 2025-11-25 session, as a server restart would: their ids now answer 404."""
        sessions = self.mcp.session_manager._server_instances  # pyright: ignore[reportPrivateUsage]
        count = len(sessions)
        sessions.clear()
        return count


def build_tasks_server(
    base_url: str,
    *,
    auth: AuthMode = "oauth",
    quirks: Quirks | None = None,
    static_token: str | None = None,
    data_file: Path | None = None,
    json_response: bool = False,
) -> TasksServer:
    base_url = base_url.rstrip("/")
    quirks = quirks or Quirks()
    store = TaskStore(data_file)
    resource_url = base_url + MCP_PATH
    authority = DemoAuthServer(base_url, resource_url, quirks)
    mcp = build_tasks_mcp(store)
    inner = mcp.streamable_http_app(streamable_http_path=MCP_PATH, json_response=json_response)
    metadata_url = str(build_resource_metadata_url(AnyHttpUrl(resource_url)))
    gate = TokenGate(
        inner,
        path=MCP_PATH,
        metadata_url=metadata_url,
        authority=authority if auth == "oauth" else None,
        static_token=static_token if auth == "static" else None,
        anonymous_user="demo" if auth == "none" else None,
    )
    routes = _auth_routes(base_url, resource_url, authority) if auth == "oauth" else []

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncGenerator[None]:
        async with mcp.session_manager.run():
            yield

    app = Starlette(routes=[*routes, Mount("/", app=gate)], lifespan=lifespan)
    return TasksServer(base_url, app, store, authority, mcp, quirks)


def _auth_routes(base_url: str, resource_url: str, authority: DemoAuthServer) -> list[Route | Mount]:
    quirks = authority.quirks
    registration = ClientRegistrationOptions(enabled=True, valid_scopes=list(ALL_SCOPES))
    client_auth = ClientAuthenticator(authority)
    token_handler = TokenHandler(authority, client_auth)

    async def server_metadata(request: Request) -> Response:
        metadata = build_metadata(AnyHttpUrl(base_url), None, registration, RevocationOptions(enabled=True))
        metadata.grant_types_supported = [*(metadata.grant_types_supported or []), "client_credentials"]
        if quirks.wrong_issuer:
            metadata.issuer = AnyHttpUrl(base_url + "/someone-else")
        if quirks.no_s256:
            metadata.code_challenge_methods_supported = None
        return await MetadataHandler(metadata).handle(request)

    async def resource_metadata(request: Request) -> Response:
        metadata = ProtectedResourceMetadata(
            resource=AnyHttpUrl(resource_url),
            authorization_servers=[AnyHttpUrl(quirks.authorization_server or base_url)],
            scopes_supported=list(ALL_SCOPES),
            resource_name="tether demo tasks",
        )
        return await ProtectedResourceMetadataHandler(metadata).handle(request)

    async def token(request: Request) -> Response:
        if quirks.token_endpoint_down:
            return JSONResponse({"error": "temporarily_unavailable"}, status_code=503)
        if quirks.garbage_tokens:
            return HTMLResponse("<html><body>Welcome! Please log in.</body></html>")
        form = await request.form()
        if form.get("grant_type") == "client_credentials":
            return await _client_credentials(request, authority, client_auth)
        return await token_handler.handle(request)

    async def consent(request: Request) -> Response:
        if request.method == "GET":
            request_id = request.query_params.get("request", "")
            if request_id not in authority.grants.pending:
                return HTMLResponse("<p>This sign-in request is unknown or was answered.</p>", 400)
            return HTMLResponse(
                _consent_page(request_id, authority.grants.pending[request_id].client.client_name)
            )
        form = await request.form()
        pending = authority.take_pending(str(form.get("request", "")))
        if pending is None:
            return HTMLResponse("<p>This sign-in request is unknown or was answered.</p>", 400)
        user = str(form.get("user", "")).strip()
        if form.get("decision") != "approve" or not user:
            return RedirectResponse(authority.deny(pending), 302)
        return RedirectResponse(authority.approve(pending, user), 302)

    prm_path = str(build_resource_metadata_url(AnyHttpUrl(resource_url))).removeprefix(base_url)
    return [
        Route("/.well-known/oauth-authorization-server", server_metadata, methods=["GET"]),
        Route(prm_path, resource_metadata, methods=["GET"]),
        Route("/authorize", AuthorizationHandler(authority).handle, methods=["GET", "POST"]),
        Route("/consent", consent, methods=["GET", "POST"]),
        Route("/token", token, methods=["POST"]),
        Route("/register", RegistrationHandler(authority, registration).handle, methods=["POST"]),
        Route("/revoke", RevocationHandler(authority, client_auth).handle, methods=["POST"]),
    ]


async def _client_credentials(
    request: Request, authority: DemoAuthServer, client_auth: ClientAuthenticator
) -> Response:
    """The client_credentials grant, which the SDK's TokenHandler does not take."""
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    form = await request.form()
    try:
        client = await client_auth.authenticate_request(request)
    except AuthenticationError as error:
        body = {"error": "invalid_client", "error_description": error.message}
        return JSONResponse(body, status_code=401, headers=headers)
    if client.token_endpoint_auth_method == "none":
        body = {"error": "unauthorized_client", "error_description": "a public client has no credentials"}
        return JSONResponse(body, status_code=400, headers=headers)
    scope, resource = form.get("scope"), form.get("resource")
    try:
        token = authority.issue_for_service(
            client,
            scope if isinstance(scope, str) else None,
            resource if isinstance(resource, str) else None,
        )
    except TokenError as error:
        body = {"error": error.error, "error_description": error.error_description}
        return JSONResponse(body, status_code=400, headers=headers)
    return JSONResponse(token.model_dump(exclude_none=True), headers=headers)


def _consent_page(request_id: str, client_name: str | None) -> str:
    who = html.escape(client_name or "An application")
    return f"""<!doctype html><title>Sign in to tasks</title>
<h1>{who} wants to use your tasks</h1>
<form method="post" action="/consent">
  <input type="hidden" name="request" value="{html.escape(request_id)}">
  <label>Your name <input name="user" value="alice"></label>
  <button name="decision" value="approve">Allow</button>
  <button name="decision" value="deny">Deny</button>
</form>"""


def bind_loopback(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1 (``port`` 0 picks a free one).

    IPPROTO_TCP, not 0: asyncio turns Nagle off only on sockets that say TCP (else ~40 ms a response).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    return sock
