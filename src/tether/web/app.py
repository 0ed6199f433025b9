"""The web application served by ``tether serve``: the route table, and ``create_web_app``.

``Guard`` stands in front of every route (Host, Origin, session, CSRF). Other parts add routes
with ``extra_routes``; those that bring their own auth (the gateway's ``/mcp``) are listed in
``open_paths``. What the pages need from the running tether comes through ``Backend``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from tether.errors import TetherError
from tether.web import sse
from tether.web.backend import Backend
from tether.web.chat_runs import ChatRuns
from tether.web.chat_views import EventRenderer
from tether.web.context import Web
from tether.web.errors import error_response
from tether.web.pages import (
    activity,
    approvals,
    auth,
    chat,
    connectors,
    directory,
    extensions,
    report,
    tools,
)
from tether.web.security import LOCAL_HOSTS, Guard, Sessions
from tether.web.signin import CALLBACK_PATH
from tether.web.templating import NAV, NavItem, Pages

if TYPE_CHECKING:
    from tether.chat.assistant import Assistant

STATIC_DIR = Path(__file__).with_name("static")
OPEN_PATHS = ("/static/", "/login", "/healthz", CALLBACK_PATH)
"""Reachable without a session (still behind the Host and Origin checks)."""


def routes() -> list[BaseRoute]:
    return [
        Route("/", home),
        Route("/login", auth.login),
        Route("/logout", auth.logout, methods=["POST"]),
        Route("/healthz", health),
        Route("/events", sse.events),
        # Settings > Extensions
        Route("/extensions", extensions.extensions_page),
        Route("/extensions/preview", extensions.preview, methods=["POST"]),
        Route("/extensions/preview-url", extensions.preview_url, methods=["POST"]),
        Route("/extensions/install", extensions.install, methods=["POST"]),
        Route("/extensions/cancel", extensions.cancel, methods=["POST"]),
        Route("/extensions/{id}/settings", extensions.save_settings, methods=["POST"]),
        Route("/extensions/{id}/update", extensions.update, methods=["POST"]),
        Route("/extensions/{id}/remove", extensions.remove, methods=["POST"]),
        Route("/extensions/{id}/enabled", extensions.set_enabled, methods=["POST"]),
        Route("/extensions/{id}/icon", extensions.icon),
        # Settings > Connectors
        Route("/connectors", connectors.connectors_page),
        Route("/connectors", connectors.add_connector, methods=["POST"]),
        Route("/directory", directory.results),
        Route("/directory/setup", directory.setup_form),
        Route("/directory/connect", directory.connect, methods=["POST"]),
        Route("/directory/install", directory.install, methods=["POST"]),
        Route("/connectors/{name}/card", connectors.card_fragment),
        Route("/connectors/{name}/connect", connectors.connect, methods=["POST"]),
        Route("/connectors/{name}/edit", connectors.edit_form),
        Route("/connectors/{name}/edit", connectors.save_edit, methods=["POST"]),
        Route("/connectors/{name}/disconnect", connectors.disconnect, methods=["POST"]),
        Route("/connectors/{name}/remove", connectors.remove, methods=["POST"]),
        Route("/connectors/{name}/enabled", connectors.set_enabled, methods=["POST"]),
        Route(CALLBACK_PATH, connectors.oauth_callback),
        # Tools & permissions
        Route("/tools", tools.tools_page),
        Route("/tools/{tool}/permission", tools.set_permission, methods=["POST"]),
        Route("/tools/{tool}/review", tools.review, methods=["POST"]),
        Route("/sources/{source}/skip-approvals", tools.set_skip_approvals, methods=["POST"]),
        Route("/rules/{rule}", tools.set_rule, methods=["POST"]),
        # Approvals
        Route("/approvals", approvals.approvals_page),
        Route("/approvals/{approval_id}", approvals.decide, methods=["POST"]),
        # Activity
        Route("/activity", activity.activity_page),
        Route("/activity/verify", activity.verify_status),
        Route("/activity/export", activity.export),
        Route("/activity/report", report.report_page),
        Route("/activity/{seq:int}", activity.record_page),
        # Chat
        Route("/chat", chat.chat_page),
        Route("/chat", chat.send_new, methods=["POST"]),
        Route("/chat/models", chat.add_model, methods=["POST"]),
        Route("/chat/models/{name}/remove", chat.remove_model, methods=["POST"]),
        Route("/chat/models/{name}/default", chat.default_model, methods=["POST"]),
        Route("/chat/{id}", chat.conversation_page),
        Route("/chat/{id}/messages", chat.messages_fragment),
        Route("/chat/{id}/messages", chat.send, methods=["POST"]),
        Route("/chat/{id}/events", chat.run_events),
        Route("/chat/{id}/resume", chat.resume, methods=["POST"]),
        Route("/chat/{id}/cancel", chat.cancel, methods=["POST"]),
        Route("/chat/{id}/rename", chat.rename, methods=["POST"]),
        Route("/chat/{id}/delete", chat.delete, methods=["POST"]),
        Route("/chat/{id}/export", chat.export),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]


def create_web_app(
    backend: Backend,
    *,
    sessions: Sessions | None = None,
    allowed_hosts: Iterable[str] = LOCAL_HOSTS,
    extra_routes: Sequence[BaseRoute] = (),
    open_paths: Sequence[str] = (),
    extra_nav: Sequence[NavItem] = (),
    is_stopping: Callable[[], bool] = lambda: False,
    assistant: Callable[[], Assistant] | None = None,
) -> Starlette:
    """The Starlette app for ``backend`` (``tether serve`` passes its App).

    ``sessions`` holds the login tokens (``tether serve`` issues the one it prints).
    ``extra_routes`` go in front of the UI's own; ``open_paths`` are path prefixes among them
    that bring their own authentication (the gateway's ``/mcp``) and so skip the session and
    CSRF checks. ``extra_nav`` adds left-nav entries (the chat). ``is_stopping`` says when the
    server shuts down (``lambda: server.should_exit`` with uvicorn), so live pages let it go.
    ``assistant`` makes the Chat page's assistant (tests give it a scripted model); by default
    ``backend.assistant()``, made on the page's first use.
    """
    web = Web(backend, Pages([*NAV, *extra_nav]), sessions or Sessions(), is_stopping=is_stopping)
    runs = ChatRuns(assistant or backend.assistant, EventRenderer(web.pages))
    web.state["chat"] = runs

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncGenerator[None]:
        async with anyio.create_task_group() as tg:
            web.signins.task_group = tg
            runs.task_group = tg  # chat runs outlive the request that started them
            try:
                yield
            finally:
                tg.cancel_scope.cancel()
                web.uploads.close()
        await runs.aclose()

    app = Starlette(
        routes=[*extra_routes, *routes()],
        middleware=[
            Middleware(
                Guard,
                sessions=web.sessions,
                allowed_hosts=allowed_hosts,
                open_prefixes=(*OPEN_PATHS, *open_paths),
            )
        ],
        exception_handlers={TetherError: error_response, HTTPException: error_response},
        lifespan=lifespan,
    )
    app.state.web = web
    return app


def web_hosts(bind_host: str) -> list[str]:
    """The names the UI answers to: this computer's, plus a specific non-local bind address."""
    if bind_host in (*LOCAL_HOSTS, "0.0.0.0", "::"):
        return list(LOCAL_HOSTS)
    return [*LOCAL_HOSTS, bind_host]


async def home(request: Request) -> Response:
    return RedirectResponse("/extensions", status_code=303)


async def health(request: Request) -> Response:
    """Open, so it says only that the server answers."""
    return JSONResponse({"ok": True})
