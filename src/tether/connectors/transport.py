"""One connection to a remote MCP server: Streamable HTTP, or legacy HTTP+SSE when it answers like one.

The SDK's transports hide HTTP statuses behind JSON-RPC errors, so an ``HttpObserver`` notes
the last answer of the connector's endpoint; ``classify`` turns a failed connection into the
TetherError a user can act on (unreachable, not an MCP server, needs sign-in...).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncGenerator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import httpx2
from mcp import Client, MCPError
from mcp.client._transport import TransportStreams
from mcp.client.session import MessageHandlerFnT
from mcp.client.sse import sse_client
from mcp.client.streamable_http import MCP_SESSION_ID, streamable_http_client

from tether.connectors.oauth import ConnectorAuth
from tether.errors import (
    AuthError,
    AuthServerUnavailable,
    ConnectorUnreachable,
    NeedsSignIn,
    NotAnMcpServer,
    SourceError,
    SourceUnavailable,
    TetherError,
)
from tether.types import SourceKind
from tether.wire.catalog import CLIENT_INFO
from tether.wire.peers import PASSED_LOG_LEVEL, SourcePeers
from tether.wire.streams import WatchedReadStream

ConnectMode = Literal["auto", "legacy"]
SSE_READ_TIMEOUT_S = 300.0


@dataclass(frozen=True, slots=True)
class Answer:
    method: str
    status: int
    content_type: str


class HttpObserver:
    """Watches the traffic of one connection to the connector's origin."""

    def __init__(self, url: str, headers: Mapping[str, str]) -> None:
        self.url = httpx2.URL(url)
        self.headers = dict(headers)
        self.last: Answer | None = None
        self.first_post: Answer | None = None
        self.session_lost = False

    def is_ours(self, url: httpx2.URL) -> bool:
        return (url.scheme, url.host, url.port) == (self.url.scheme, self.url.host, self.url.port)

    async def on_request(self, request: httpx2.Request) -> None:
        if self.is_ours(request.url):
            for name, value in self.headers.items():
                request.headers.setdefault(name, value)

    async def on_response(self, response: httpx2.Response) -> None:
        request = response.request
        if not self.is_ours(request.url) or "/.well-known/" in request.url.path:
            return
        answer = Answer(request.method, response.status_code, response.headers.get("content-type", ""))
        self.last = answer
        if request.method == "POST" and self.first_post is None:
            self.first_post = answer
        if response.status_code == 404 and MCP_SESSION_ID in request.headers:
            self.session_lost = True

    def answered_like_sse_server(self) -> bool:
        """A legacy HTTP+SSE server refuses the initial POST with a 4xx other than 401/403."""
        first = self.first_post
        return first is not None and 400 <= first.status < 500 and first.status not in (401, 403)


@dataclass
class HttpSetup:
    """How to build HTTP clients for one connection attempt."""

    url: str
    observer: HttpObserver
    auth: ConnectorAuth | None
    timeout_s: float = 30.0

    def client(self, timeout: httpx2.Timeout | None = None) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            auth=self.auth,
            timeout=timeout or httpx2.Timeout(self.timeout_s, read=SSE_READ_TIMEOUT_S),
            event_hooks={"request": [self.observer.on_request], "response": [self.observer.on_response]},
        )

    def sse_factory(
        self,
        headers: dict[str, str] | None = None,
        timeout: httpx2.Timeout | None = None,
        auth: httpx2.Auth | None = None,
    ) -> httpx2.AsyncClient:
        return self.client(timeout)


@dataclass
class Session:
    """A connected client and how it is carried."""

    client: Client
    transport: Literal["streamable-http", "sse"]
    ended: anyio.Event = field(default_factory=anyio.Event)


async def open_session(
    stack: AsyncExitStack,
    setup: HttpSetup,
    *,
    kind: SourceKind,
    mode: ConnectMode,
    message_handler: MessageHandlerFnT,
    peers: SourcePeers | None = None,
) -> Session:
    """Connect and finish the MCP handshake; the connection lives as long as ``stack``.

    ``peers`` answers the server's sampling and elicitation requests and takes its log messages.
    """
    if kind is SourceKind.SSE:
        return await _enter(stack, setup, "sse", "legacy", message_handler, peers)
    try:
        return await _enter(stack, setup, "streamable-http", mode, message_handler, peers)
    except Exception as error:
        if not setup.observer.answered_like_sse_server():
            raise
        first_error = error
    try:
        return await _enter(stack, setup, "sse", "legacy", message_handler, peers)
    except Exception:
        raise first_error from None


async def _enter(
    stack: AsyncExitStack,
    setup: HttpSetup,
    transport: Literal["streamable-http", "sse"],
    mode: ConnectMode,
    message_handler: MessageHandlerFnT,
    peers: SourcePeers | None,
) -> Session:
    ended = anyio.Event()
    async with AsyncExitStack() as attempt:
        if transport == "sse":
            streams = _watched(
                sse_client(setup.url, timeout=setup.timeout_s, httpx_client_factory=setup.sse_factory), ended
            )
        else:
            http = await attempt.enter_async_context(setup.client())
            streams = _watched(streamable_http_client(setup.url, http_client=http), ended)
        client = await attempt.enter_async_context(
            Client(
                streams,
                mode=mode,
                cache=None,
                message_handler=message_handler,
                client_info=CLIENT_INFO,
                sampling_callback=peers.sampling if peers else None,
                elicitation_callback=peers.elicitation if peers else None,
                logging_callback=peers.logging if peers else None,
                log_level=PASSED_LOG_LEVEL if peers else None,
            )
        )
        stack.push_async_exit(attempt.pop_all())
    return Session(client, transport, ended)


@asynccontextmanager
async def _watched(transport: Any, ended: anyio.Event) -> AsyncGenerator[TransportStreams]:
    async with transport as (read_stream, write_stream):
        yield WatchedReadStream(read_stream, ended), write_stream


def classify(error: BaseException, *, connector: str, url: str, observer: HttpObserver) -> TetherError:
    """The TetherError that says why connecting to (or talking with) the connector failed."""
    leaf = _leaf(error)
    if isinstance(leaf, TetherError):
        return leaf
    if isinstance(leaf, httpx2.TransportError):
        return _unreachable(leaf, connector=connector, url=url, observer=observer)
    answer = observer.last
    if answer is not None:
        if answer.status in (401, 403):
            return AuthError(
                f"connector '{connector}': {url} refused the credentials (HTTP {answer.status}); "
                f"check its headers with `tether connector add` or sign in with `tether connector login`"
            )
        kind = answer.content_type.split(";")[0].strip().lower()
        if kind == "text/html" or answer.status in (404, 405):
            shown = kind or "no content type"
            return NotAnMcpServer(
                f"connector '{connector}': {url} is not an MCP server (it answered HTTP {answer.status}, "
                f"{shown}); check the URL the service documents for MCP"
            )
        if answer.status >= 500:
            return SourceUnavailable(f"connector '{connector}': {url} answered HTTP {answer.status}")
    if isinstance(leaf, MCPError):
        return SourceError(f"connector '{connector}': the server refused the connection: {leaf.message}")
    return SourceError(f"connector '{connector}': {type(leaf).__name__}: {str(leaf)[:200]}")


def _unreachable(
    error: httpx2.TransportError, *, connector: str, url: str, observer: HttpObserver
) -> TetherError:
    try:
        target = error.request.url
    except RuntimeError:
        target = httpx2.URL(url)
    reason = connect_failure(error, host=target.host)
    if not observer.is_ours(target):
        return AuthServerUnavailable(
            f"connector '{connector}': cannot reach the authorization server {target.host} ({reason})"
        )
    return ConnectorUnreachable(f"connector '{connector}': cannot reach {url} ({reason})")


def connect_failure(error: httpx2.TransportError, *, host: str) -> str:
    """Why a connection failed, in words that point at the fix: DNS, TLS, or the error itself."""
    for cause in _causes(error):
        if isinstance(cause, socket.gaierror):
            return f"DNS: the host name '{host}' does not resolve; check the URL"
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message or cause.reason or "not trusted"
            return (
                f"TLS: the certificate of '{host}' is not trusted ({detail}); the server must present "
                "a certificate for its name from an authority this computer trusts"
            )
        if isinstance(cause, ssl.SSLError):
            detail = cause.reason or str(cause)
            return f"TLS: the secure connection to '{host}' failed ({detail}); check the URL and its port"
    return str(error).strip()[:160] or type(error).__name__


def _causes(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _leaf(error: BaseException) -> BaseException:
    """The first real error inside (possibly nested) exception groups."""
    while isinstance(error, BaseExceptionGroup):
        inner: tuple[BaseException, ...] = error.exceptions  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        real = [e for e in inner if not isinstance(e, anyio.get_cancelled_exc_class())]
        error = (real or list(inner))[0]
    return error


def is_sign_in_error(error: TetherError) -> bool:
    return isinstance(error, NeedsSignIn)
