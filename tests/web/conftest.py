"""Fixtures for the web UI tests: a real App on a temporary data dir, its web app driven in-process
through httpx2's ASGI transport, signed in with the one-time link as a browser would be."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from starlette.applications import Starlette

from tests.fakes import FakeSource
from tether.app import App, open_app
from tether.config import Settings, load_settings
from tether.types import Actor, SourceConfig
from tether.web.app import create_web_app
from tether.web.security import Sessions

ME = Actor("test", "me")
BASE_URL = "http://127.0.0.1:8765"
WAIT_S = 20.0


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        {
            "TETHER_HOME": str(tmp_path / "home"),
            "TETHER_CONFIG": str(tmp_path / "tether.toml"),
            "TETHER_SECRETS_BACKEND": "file",
            "TETHER_START_TIMEOUT_S": "15",
            "TETHER_MAX_START_FAILURES": "1",
            "TETHER_APPROVAL_TIMEOUT_S": "60",
        }
    )


@pytest.fixture
async def tether_app(settings: Settings) -> AsyncGenerator[App]:
    async with open_app(settings) as app:
        yield app


class Page:
    """A signed-in browser tab: GETs as a page, POSTs with the session's CSRF header like htmx."""

    def __init__(self, http: httpx2.AsyncClient, csrf_token: str) -> None:
        self.http = http
        self.csrf_token = csrf_token

    async def get(self, path: str, **headers: str) -> httpx2.Response:
        return await self.http.get(path, headers={"Accept": "text/html", **headers})

    async def post(
        self,
        path: str,
        data: Mapping[str, Any] | None = None,
        *,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx2.Response:
        sent = {"HX-Request": "true", "X-CSRF-Token": self.csrf_token, **(headers or {})}
        return await self.http.post(path, data=dict(data or {}), files=files, headers=sent)


@pytest.fixture
async def web_app(tether_app: App) -> AsyncGenerator[tuple[Starlette, Sessions]]:
    sessions = Sessions()
    app = create_web_app(tether_app, sessions=sessions)
    async with app.router.lifespan_context(app):
        yield app, sessions


@pytest.fixture
async def anonymous(web_app: tuple[Starlette, Sessions]) -> AsyncGenerator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=web_app[0])
    async with httpx2.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http


@pytest.fixture
async def page(web_app: tuple[Starlette, Sessions], anonymous: httpx2.AsyncClient) -> Page:
    return await sign_in(anonymous, web_app[1])


async def sign_in(http: httpx2.AsyncClient, sessions: Sessions) -> Page:
    answer = await http.get(f"/login?token={sessions.issue_login_token()}")
    assert answer.status_code == 303
    cookie = next(iter(http.cookies.values()))
    session = sessions.get(cookie)
    assert session is not None
    return Page(http, session.csrf_token)


async def second_tab(web_app: tuple[Starlette, Sessions], page: Page) -> Page:
    """Another tab of the same browser: same cookie, same session."""
    transport = httpx2.ASGITransport(app=web_app[0])
    http = httpx2.AsyncClient(transport=transport, base_url=BASE_URL, cookies=page.http.cookies)
    return Page(http, page.csrf_token)


async def add_fake(app: App, source: FakeSource) -> None:
    """A stored source whose running stand-in is ``source`` (tools listed, catalog saved)."""
    await app.add_source(ME, SourceConfig(name=source.name, command="unused"))
    with anyio.fail_after(WAIT_S):
        await app.host.add_source(source)
