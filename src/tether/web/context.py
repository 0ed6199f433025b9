"""What every page handler reaches through ``request``: the backend, the pages, the session.

``create_web_app`` puts one ``Web`` on ``app.state.web``; handlers call ``web_of(request)``.
Forms are read here too, with a size limit, so every handler parses input the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse

from tether.types import Actor
from tether.web.backend import Backend
from tether.web.security import Session, Sessions
from tether.web.signin import SignIns
from tether.web.templating import Pages, session_of
from tether.web.uploads import Uploads

MAX_FIELDS = 200


@dataclass
class Web:
    backend: Backend
    pages: Pages
    sessions: Sessions
    signins: SignIns = field(default_factory=SignIns)
    uploads: Uploads = field(default_factory=Uploads)
    is_stopping: Callable[[], bool] = lambda: False
    """True once the server shuts down: live streams end so it need not wait for open pages."""
    state: dict[str, Any] = field(default_factory=dict[str, Any])
    """Small per-feature state that lives as long as the app (caches, locks)."""

    async def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any],
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """A whole page, with the approvals that wait (the tray every page shows)."""
        pending = await self.backend.store.pending_approvals()
        return self.pages.render(
            request, name, context, pending=pending, status_code=status_code, headers=headers
        )

    def fragment(self, name: str, context: Mapping[str, Any], *, status_code: int = 200) -> HTMLResponse:
        return HTMLResponse(self.pages.fragment(name, context), status_code=status_code)


def web_of(request: Request) -> Web:
    return request.app.state.web


def session(request: Request) -> Session:
    return session_of(request)


def actor(request: Request) -> Actor:
    return session_of(request).actor


async def read_form(request: Request, *, max_files: int = 0, max_part_bytes: int = 1024 * 1024) -> FormData:
    return await request.form(max_files=max_files, max_fields=MAX_FIELDS, max_part_size=max_part_bytes)


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> Sequence[str]:
    return [v.strip() for v in form.getlist(name) if isinstance(v, str)]
