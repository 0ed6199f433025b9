"""How a person signs in: show them the authorization page, then receive the redirect back.

``SignIn`` is the pair of steps the OAuth client needs; the CLI uses ``LoopbackSignIn`` (a
one-request HTTP listener on 127.0.0.1 and the system browser, or the URL printed on a
headless machine), and the web UI can supply its own callback route behind the same seam.
"""

from __future__ import annotations

import contextlib
import webbrowser
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectSendStream

from tether.errors import RedirectNotLoopback, UsageError

CALLBACK_PATH = "/callback"
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
_MAX_REQUEST_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class Callback:
    """The query parameters the authorization server sent the browser back with."""

    code: str | None = None
    state: str | None = None
    iss: str | None = None
    error: str | None = None
    error_description: str | None = None

    @classmethod
    def from_query(cls, query: str) -> Callback:
        values = {key: found[0] for key, found in parse_qs(query).items() if found}
        return cls(
            code=values.get("code"),
            state=values.get("state"),
            iss=values.get("iss"),
            error=values.get("error"),
            error_description=values.get("error_description"),
        )


class SignIn(Protocol):
    """One interactive sign-in: where the browser comes back to, and the two steps."""

    @property
    def redirect_uri(self) -> str: ...

    async def open(self, authorization_url: str) -> None:
        """Show the authorization page to the person (open a browser, print, send to the UI)."""
        ...

    async def wait_for_callback(self) -> Callback:
        """Return once the browser came back to ``redirect_uri``."""
        ...


def check_loopback_redirect(uri: str) -> str:
    """Return ``uri`` if it points at this computer over plain http, else raise RedirectNotLoopback."""
    parts = urlsplit(uri)
    if parts.scheme != "http" or (parts.hostname or "") not in LOOPBACK_HOSTS:
        raise RedirectNotLoopback(
            f"refusing redirect URI '{uri}': tether only receives sign-ins on http://127.0.0.1 "
            "(or [::1], localhost), so no other site can catch the authorization code"
        )
    return uri


Presenter = Callable[[str], Awaitable[None]]
"""Shows the authorization URL to the person."""


def browser_presenter(say: Callable[[str], None]) -> Presenter:
    """Open the system browser when there is one; always print the URL too (headless machines)."""

    async def present(url: str) -> None:
        say(f"Open this page to sign in (waiting for the browser to come back):\n{url}")
        with contextlib.suppress(webbrowser.Error):
            await anyio.to_thread.run_sync(webbrowser.open, url)

    return present


class LoopbackSignIn:
    """Receives the redirect on ``http://127.0.0.1:<port>/callback``; use ``LoopbackSignIn.listen``."""

    def __init__(self, port: int, present: Presenter) -> None:
        self.port = port
        self._present = present
        self._send, self._receive = anyio.create_memory_object_stream[Callback](1)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"

    async def open(self, authorization_url: str) -> None:
        await self._present(authorization_url)

    async def wait_for_callback(self) -> Callback:
        return await self._receive.receive()

    async def _answer(self, stream: anyio.abc.SocketStream) -> None:
        await _answer(stream, self._send)

    @classmethod
    @asynccontextmanager
    async def listen(cls, present: Presenter, *, port: int = 0) -> AsyncGenerator[LoopbackSignIn]:
        """Listen on 127.0.0.1 (``port`` 0 picks a free one) for as long as the block runs."""
        try:
            listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=port)
        except OSError as error:
            raise UsageError(
                f"cannot listen on 127.0.0.1:{port} for the sign-in ({error.strerror}): "
                "close what uses that port and try again"
            ) from None
        try:
            async with listener, anyio.create_task_group() as tg:
                bound = listener.extra(anyio.abc.SocketAttribute.local_port)
                sign_in = cls(bound, present)
                tg.start_soon(listener.serve, sign_in._answer)
                try:
                    yield sign_in
                finally:
                    tg.cancel_scope.cancel()
                    sign_in._send.close()
                    sign_in._receive.close()
        except BaseExceptionGroup as group:
            # What the sign-in raised, not a group: callers check error codes.
            inner = group.exceptions  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
            if len(inner) == 1 and isinstance(inner[0], Exception):  # pyright: ignore[reportUnknownArgumentType]
                raise inner[0] from None  # pyright: ignore[reportUnknownArgumentType]
            raise


async def _answer(stream: anyio.abc.SocketStream, deliver: MemoryObjectSendStream[Callback]) -> None:
    async with stream:
        request = b""
        with anyio.move_on_after(10):
            while b"\r\n\r\n" not in request and len(request) < _MAX_REQUEST_BYTES:
                try:
                    request += await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    return
        line = request.split(b"\r\n", 1)[0].decode("latin-1")
        method, _, rest = line.partition(" ")
        target = rest.rpartition(" ")[0]
        parts = urlsplit(target)
        if method != "GET" or parts.path != CALLBACK_PATH:
            await _respond(stream, 404, "Not found.")
            return
        callback = Callback.from_query(parts.query)
        try:
            deliver.send_nowait(callback)
        except anyio.WouldBlock:
            await _respond(stream, 409, "A sign-in answer was received already; close this window.")
            return
        if callback.error:
            await _respond(stream, 200, "The sign-in was not completed. You can close this window.")
        else:
            await _respond(stream, 200, "Signed in to tether. You can close this window.")


async def _respond(stream: anyio.abc.SocketStream, status: int, text: str) -> None:
    reason = {200: "OK", 404: "Not Found", 409: "Conflict"}[status]
    body = f"<!doctype html><title>tether</title><p>{text}</p>".encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n"
    ).encode()
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
        await stream.send(head + body)
