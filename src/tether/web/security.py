"""Who may use the web UI: a one-time login link, session cookies, CSRF tokens, Host and Origin checks.

``tether serve`` prints a login URL with a one-time token (as Jupyter does); redeeming it sets
an HttpOnly, SameSite=Strict session cookie. ``Guard`` refuses a Host that is not this computer
(DNS rebinding) and a foreign Origin with 403, asks for the session everywhere but the open
paths, and for the session's CSRF token (header or form field) on every unsafe request.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tether.types import Actor

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_IDLE_S = 7 * 24 * 3600.0
MAX_FORM_BYTES = 1024 * 1024
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@dataclass
class Session:
    """One signed-in browser. ``key`` is the cookie (a secret); ``label`` is what the log shows."""

    key: str
    label: str
    csrf_token: str
    last_seen: float

    @property
    def actor(self) -> Actor:
        return Actor("web", self.label)


class Sessions:
    """In memory: a restart of ``tether serve`` signs every browser out and prints a new link."""

    def __init__(
        self, *, idle_timeout_s: float = SESSION_IDLE_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._login_tokens: set[str] = set()
        self._sessions: dict[str, Session] = {}
        self._idle_timeout_s = idle_timeout_s
        self._clock = clock

    def issue_login_token(self) -> str:
        """A token for one login; only its hash is kept."""
        token = secrets.token_urlsafe(32)
        self._login_tokens.add(_digest(token))
        return token

    def redeem(self, token: str) -> Session | None:
        """Trade a login token for a new session, once; None for an unknown or used token."""
        digest = _digest(token)
        if digest not in self._login_tokens:
            return None
        self._login_tokens.discard(digest)
        session = Session(
            key=secrets.token_urlsafe(32),
            label=secrets.token_hex(4),
            csrf_token=secrets.token_urlsafe(32),
            last_seen=self._clock(),
        )
        self._sessions[_digest(session.key)] = session
        return session

    def get(self, key: str | None) -> Session | None:
        if not key:
            return None
        digest = _digest(key)
        session = self._sessions.get(digest)
        now = self._clock()
        if session is None:
            return None
        if now - session.last_seen > self._idle_timeout_s:
            del self._sessions[digest]
            return None
        session.last_seen = now
        return session

    def is_active(self, key: str) -> bool:
        """Whether ``key`` is a live session, without counting this as activity."""
        session = self._sessions.get(_digest(key))
        return session is not None and self._clock() - session.last_seen <= self._idle_timeout_s

    def end(self, key: str) -> None:
        self._sessions.pop(_digest(key), None)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def cookie_name(scope: Scope) -> str:
    """Cookies ignore ports: one name per port keeps two tethers on one machine apart."""
    server = scope.get("server")
    port = server[1] if server and server[1] else None
    return f"tether_session_{port}" if port else "tether_session"


def set_session_cookie(response: Response, scope: Scope, session: Session) -> None:
    response.set_cookie(
        cookie_name(scope),
        session.key,
        httponly=True,
        samesite="strict",
        path="/",
        secure=scope.get("scheme") == "https",
    )


def host_name(host_header: str) -> str:
    """``'[::1]:8765'`` -> ``'::1'``, ``'localhost:80'`` -> ``'localhost'``."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    name, _, port = host.rpartition(":")
    return name if name and port.isdigit() else host


class Guard:
    """Pure ASGI middleware (so SSE streams pass through untouched) in front of every route."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        sessions: Sessions,
        allowed_hosts: Iterable[str] = LOCAL_HOSTS,
        open_prefixes: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.allowed_hosts = frozenset(h.lower().strip("[]") for h in allowed_hosts)
        self.open_prefixes = tuple(open_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not scope["path"].startswith(self.open_prefixes):
            await receive()  # the UI has no websockets: refuse rather than let one skip the checks
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        send = _with_security_headers(send, is_static=scope["path"].startswith("/static/"))
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await PlainTextResponse(refusal, status_code=403)(scope, receive, send)
            return
        if scope["path"].startswith(self.open_prefixes):
            await self.app(scope, receive, send)
            return
        session = self.sessions.get(_cookie(headers, cookie_name(scope)))
        if session is None:
            await _not_signed_in(scope, headers)(scope, receive, send)
            return
        scope.setdefault("state", {})["session"] = session
        if scope["method"] not in SAFE_METHODS:
            receive, is_valid = await _check_csrf(session, headers, receive)
            if not is_valid:
                await PlainTextResponse(
                    "missing or wrong CSRF token: reload the page and try again", status_code=403
                )(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope, headers: Headers) -> str | None:
        host = headers.get("host", "")
        if host_name(host) not in self.allowed_hosts:
            return "this tether only answers to its own address (Host not allowed)"
        origin = headers.get("origin")
        if origin is not None:
            expected = f"{scope.get('scheme', 'http')}://{host}".lower()
            if origin.lower() != expected:
                return "requests from other sites are refused (Origin not allowed)"
        if scope["method"] not in SAFE_METHODS and headers.get("sec-fetch-site") in (
            "cross-site",
            "same-site",
        ):
            return "requests from other sites are refused (Sec-Fetch-Site)"
        return None


def _cookie(headers: Headers, name: str) -> str | None:
    raw = headers.get("cookie")
    if not raw:
        return None
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed Cookie header means no session, not a crash
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def _not_signed_in(scope: Scope, headers: Headers) -> Response:
    wants_page = scope["method"] == "GET" and "text/html" in headers.get("accept", "")
    if wants_page and "hx-request" not in headers:
        return RedirectResponse("/login", status_code=303)
    return PlainTextResponse("not signed in: open the login link `tether serve` printed", status_code=401)


async def _check_csrf(session: Session, headers: Headers, receive: Receive) -> tuple[Receive, bool]:
    """The token from the header, or else from an urlencoded form body (which is then replayed)."""
    sent = headers.get(CSRF_HEADER)
    if sent is not None:
        return receive, secrets.compare_digest(sent, session.csrf_token)
    if headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return receive, False
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return receive, False
        body += message.get("body", b"")
        if len(body) > MAX_FORM_BYTES:
            return receive, False
        if not message.get("more_body", False):
            break
    fields = parse_qs(body.decode("utf-8", "replace"))
    token = fields.get(CSRF_FIELD, [""])[0]
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay, secrets.compare_digest(token, session.csrf_token)


def _with_security_headers(send: Send, *, is_static: bool) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers.setdefault("content-security-policy", CONTENT_SECURITY_POLICY)
            headers.setdefault("x-content-type-options", "nosniff")
            headers.setdefault("x-frame-options", "DENY")
            # Not "no-referrer": with it, browsers send ``Origin: null`` on plain form posts, which
            # the Origin check must refuse. "same-origin" sends nothing to other sites either.
            headers.setdefault("referrer-policy", "same-origin")
            if not is_static:
                headers.setdefault("cache-control", "no-store")
        await send(message)

    return wrapped
