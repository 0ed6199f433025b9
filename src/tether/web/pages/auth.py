"""Signing a browser in with the one-time link ``tether serve`` prints, and signing it out.

A used or unknown link shows a page saying where a new one comes from; nothing about the
token is echoed. Each sign-in is logged (``web.signed_in``) with the session's public label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from tether.core.activity import ActivityEvent
from tether.web.context import session, web_of
from tether.web.security import cookie_name, set_session_cookie


@dataclass(frozen=True, slots=True)
class WebSignedIn(ActivityEvent):
    kind: ClassVar[str] = "web.signed_in"
    user_agent: str = ""


async def login(request: Request) -> Response:
    web = web_of(request)
    token = request.query_params.get("token", "")
    current = web.sessions.get(request.cookies.get(cookie_name(request.scope)))
    if current is not None:  # signed in already: a link (used or not) has nothing to add
        return RedirectResponse("/", status_code=303)
    created = web.sessions.redeem(token) if token else None
    if created is None:
        page = web.pages.fragment("login.html", {"is_used": bool(token)})
        return HTMLResponse(page, status_code=403 if token else 200)
    await web.backend.host.record(
        WebSignedIn(user_agent=request.headers.get("user-agent", "")[:200]), actor=created.actor
    )
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(response, request.scope, created)
    return response


async def logout(request: Request) -> Response:
    web = web_of(request)
    web.sessions.end(session(request).key)
    response = HTMLResponse("", headers={"HX-Redirect": "/login"})
    response.delete_cookie(cookie_name(request.scope), path="/", httponly=True, samesite="strict")
    return response
