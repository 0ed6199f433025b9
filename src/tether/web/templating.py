"""Rendering pages: the Jinja2 environment (autoescaped, strict), the left nav, shared filters.

A handler gathers plain data and calls ``Pages.render``; templates never call back into
tether. Every page gets the nav, the session's CSRF token and the pending approvals (the
tray). Another feature (the chat) adds a nav entry with ``extra_nav`` and extends base.html.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from tether.core.storage import StoredApproval
from tether.web.approval_views import approval_view
from tether.web.security import Session

TEMPLATES_DIR = Path(__file__).with_name("templates")


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    path: str
    group: str = ""
    """A heading the entry sits under ("Settings"), or "" for a top-level entry."""


NAV: tuple[NavItem, ...] = (
    NavItem("Extensions", "/extensions", "Settings"),
    NavItem("Connectors", "/connectors", "Settings"),
    NavItem("Tools & permissions", "/tools"),
    NavItem("Approvals", "/approvals"),
    NavItem("Activity", "/activity"),
    NavItem("Chat", "/chat"),
)


def session_of(request: Request) -> Session:
    """The session ``Guard`` put on the request (every page route runs behind it)."""
    return request.state.session


class Pages:
    def __init__(self, nav: Sequence[NavItem] = NAV) -> None:
        self.nav = tuple(nav)
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["when"] = when
        self.env.filters["pretty_json"] = pretty_json

    def fragment(self, name: str, context: Mapping[str, Any]) -> str:
        """A template rendered on its own (an htmx swap, an SSE message)."""
        return self.env.get_template(name).render(context)

    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any],
        *,
        pending: Sequence[StoredApproval] = (),
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        session = session_of(request)
        page = {
            "nav": self.nav,
            "path": request.url.path,
            "csrf_token": session.csrf_token,
            "csrf_header": json.dumps({"X-CSRF-Token": session.csrf_token}),
            "pending": [approval_view(p) for p in pending],
            **context,
        }
        body = self.env.get_template(name).render(page)
        return HTMLResponse(body, status_code=status_code, headers=dict(headers or {}))


def when(moment: datetime | None) -> str:
    """A stored UTC time as this computer's local time (the server is the user's computer)."""
    if moment is None:
        return ""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def pretty_json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
