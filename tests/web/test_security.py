"""Who may use the web UI: the one-time link, the session cookie, CSRF, Host and Origin checks."""

from __future__ import annotations

import re

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from tests.web.conftest import Page
from tether.web.security import Sessions

pytestmark = pytest.mark.anyio


def post_routes(app: Starlette) -> list[str]:
    """Every POST path of the UI, with its parameters filled in."""
    paths: list[str] = []
    for route in app.routes:
        if isinstance(route, Route) and route.methods and "POST" in route.methods:
            paths.append(re.sub(r"\{[^}]+\}", "x", route.path))
    return paths


async def test_pages_need_a_session(anonymous: httpx2.AsyncClient) -> None:
    for path in ("/extensions", "/connectors", "/tools", "/approvals", "/activity"):
        answer = await anonymous.get(path, headers={"Accept": "text/html"})
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/login"
    assert (await anonymous.get("/events")).status_code == 401
    assert (await anonymous.get("/activity/export?format=csv")).status_code == 401


async def test_the_login_link_works_once_and_sets_a_strict_httponly_cookie(
    web_app: tuple[Starlette, Sessions], anonymous: httpx2.AsyncClient
) -> None:
    token = web_app[1].issue_login_token()
    first = await anonymous.get(f"/login?token={token}")
    assert first.status_code == 303
    cookie = first.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert (await anonymous.get("/tools", headers={"Accept": "text/html"})).status_code == 200

    other_browser = httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=web_app[0]), base_url=str(anonymous.base_url)
    )
    async with other_browser:
        again = await other_browser.get(f"/login?token={token}")
        assert again.status_code == 403
        assert token not in again.text
        assert (await other_browser.get("/tools", headers={"Accept": "text/html"})).status_code == 303


async def test_a_wrong_token_does_not_sign_in(anonymous: httpx2.AsyncClient) -> None:
    answer = await anonymous.get("/login?token=guessed")
    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers


async def test_signing_out_ends_the_session(page: Page) -> None:
    answer = await page.post("/logout")
    assert answer.headers["hx-redirect"] == "/login"
    assert (await page.get("/tools")).status_code == 303


async def test_a_foreign_host_is_refused_even_with_a_session(page: Page) -> None:
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example."""
    answer = await page.get("/tools", Host="evil.example:8765")
    assert answer.status_code == 403
    answer = await page.post("/rules/allow-read-only", {"is_on": "on"}, headers={"Host": "evil.example"})
    assert answer.status_code == 403


async def test_every_post_without_the_csrf_token_is_refused(
    web_app: tuple[Starlette, Sessions], page: Page
) -> None:
    paths = post_routes(web_app[0])
    assert len(paths) > 15
    for path in paths:
        answer = await page.http.post(path, data={"verdict": "denied"}, headers={"HX-Request": "true"})
        assert answer.status_code == 403, path
        wrong = await page.http.post(path, headers={"X-CSRF-Token": "not-the-token"})
        assert wrong.status_code == 403, path


async def test_a_post_from_another_origin_is_refused(page: Page) -> None:
    for origin in ("http://evil.example", "http://127.0.0.1:9999", "null"):
        answer = await page.post("/rules/allow-read-only", {"is_on": "on"}, headers={"Origin": origin})
        assert answer.status_code == 403, origin
    cross_site = await page.post(
        "/rules/allow-read-only", {"is_on": "on"}, headers={"Sec-Fetch-Site": "same-site"}
    )
    assert cross_site.status_code == 403
    same_origin = await page.post(
        "/rules/allow-read-only", {"is_on": "on"}, headers={"Origin": "http://127.0.0.1:8765"}
    )
    assert same_origin.status_code == 200


async def test_the_csrf_token_may_come_in_the_form_instead_of_a_header(page: Page) -> None:
    answer = await page.http.post(
        "/rules/allow-read-only", data={"is_on": "on", "csrf_token": page.csrf_token}
    )
    assert answer.status_code == 200
    assert "allow-read-only" in answer.text


async def test_responses_forbid_framing_inline_script_and_caching(page: Page) -> None:
    answer = await page.get("/tools")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"
    assert "<script>" not in answer.text
    # "no-referrer" would make browsers send Origin: null on plain form posts (refused as foreign).
    assert answer.headers["referrer-policy"] == "same-origin"


async def test_the_static_files_and_the_login_page_need_no_session(anonymous: httpx2.AsyncClient) -> None:
    assert (await anonymous.get("/static/htmx.min.js")).status_code == 200
    assert (await anonymous.get("/static/htmx.LICENSE.txt")).status_code == 200
    assert (await anonymous.get("/login")).status_code == 200
    assert (await anonymous.get("/healthz")).json() == {"ok": True}
