"""Settings > Connectors: the add form, Connect through OAuth and /oauth/callback, disconnect, remove."""

from __future__ import annotations

from urllib.parse import parse_qs, urljoin, urlsplit

import anyio
import httpx2
import pytest

from tests.connectors.servers import serve_tasks
from tests.web.conftest import WAIT_S, Page
from tether.app import App
from tether.core.storage import ActivityFilter
from tether.types import SourceKind, SourceState

pytestmark = pytest.mark.anyio

SECRET_HEADER = "Bearer header-secret-0123456789"
CLIENT_SECRET = "client-secret-9876543210"


async def consent(authorization_url: str, *, user: str = "ann", decision: str = "approve") -> str:
    """Play the person at the authorization server; return where it sends the browser back."""
    async with httpx2.AsyncClient(follow_redirects=False, timeout=WAIT_S) as browser:
        answer = await browser.get(authorization_url)
        location = urljoin(authorization_url, answer.headers["location"])
        request_id = parse_qs(urlsplit(location).query)["request"][0]
        answer = await browser.post(
            urljoin(location, "/consent"), data={"request": request_id, "user": user, "decision": decision}
        )
        return urljoin(location, answer.headers["location"])


async def test_a_bad_form_shows_field_errors_and_adds_nothing(tether_app: App, page: Page) -> None:
    answer = await page.post(
        "/connectors",
        {
            "name": "Bad Name!",
            "url": "ftp://nowhere",
            "client_secret": CLIENT_SECRET,
            "headers": "no colon here",
            "timeout_s": "-1",
        },
    )
    assert answer.status_code == 422
    body = answer.text
    for field in ("c-name-error", "c-url-error"):
        assert field in body
    assert "a client secret needs the client id" in body
    assert "one &#39;Name: value&#39; per line" in body
    assert "seconds between 1 and" in body
    assert CLIENT_SECRET not in body
    assert await tether_app.store.list_sources() == []


async def test_a_taken_name_is_a_field_error(tether_app: App, page: Page) -> None:
    first = await page.post("/connectors", {"name": "tasks", "url": "http://127.0.0.1:9/mcp"})
    assert first.headers["hx-redirect"].startswith("/connectors")
    again = await page.post("/connectors", {"name": "tasks", "url": "http://127.0.0.1:9/mcp"})
    assert again.status_code == 422
    assert "is taken" in again.text


async def test_connect_signs_in_through_the_web_callback(tether_app: App, page: Page) -> None:
    async with serve_tasks() as server:
        added = await page.post(
            "/connectors",
            {"name": "tasks", "url": server.mcp_url, "headers": f"X-Team: {SECRET_HEADER}"},
        )
        assert added.status_code == 200
        config = await tether_app.store.get_source("tasks")
        assert config.kind is SourceKind.HTTP
        assert tether_app.connector_vault(config).load_headers() == {"X-Team": SECRET_HEADER}
        listing = (await page.get("/connectors")).text
        assert "needs sign-in" in listing
        assert SECRET_HEADER not in listing

        with anyio.fail_after(WAIT_S):
            started = await page.post("/connectors/tasks/connect")
            authorization_url = started.headers["hx-redirect"]
            assert authorization_url.startswith(server.base_url)
            callback = await consent(authorization_url)
            assert callback.startswith("http://127.0.0.1:8765/oauth/callback?")
            done = await page.http.get(callback.removeprefix("http://127.0.0.1:8765"))
        assert done.status_code == 200
        assert "Signed in to tasks" in done.text
        assert "url=/connectors" in done.text
        with anyio.fail_after(WAIT_S):
            await tether_app.host.source("tasks").wait_state(SourceState.RUNNING)  # pyright: ignore[reportAttributeAccessIssue]
        assert "connected" in (await page.get("/connectors")).text
        signed = await tether_app.store.records(ActivityFilter(kind="connector.signed_in"))
        assert signed[0].actor.startswith("web:")
        assert "access_token" not in (await page.get("/connectors")).text

        out = await page.post("/connectors/tasks/disconnect")
        assert "signed out" in out.text
        assert tether_app.connector_vault(config).load_grant() is None
        await page.post("/connectors/tasks/remove")  # closes its connection before the server stops


async def test_a_declined_sign_in_says_so(tether_app: App, page: Page) -> None:
    async with serve_tasks() as server:
        await page.post("/connectors", {"name": "tasks", "url": server.mcp_url})
        with anyio.fail_after(WAIT_S):
            started = await page.post("/connectors/tasks/connect")
            callback = await consent(started.headers["hx-redirect"], decision="deny")
            done = await page.http.get(callback.removeprefix("http://127.0.0.1:8765"))
        assert done.status_code == 200
        assert "Not connected" in done.text
        assert "declined" in done.text
        await page.post("/connectors/tasks/remove")


async def test_a_callback_nobody_waits_for_is_refused(page: Page, anonymous: httpx2.AsyncClient) -> None:
    answer = await anonymous.get("/oauth/callback?code=abc&state=forged")
    assert answer.status_code == 400
    assert "not in progress" in answer.text


async def test_removing_a_connector_forgets_it(tether_app: App, page: Page) -> None:
    await page.post("/connectors", {"name": "gone", "url": "http://127.0.0.1:9/mcp", "headers": "A: b"})
    answer = await page.post("/connectors/gone/remove")
    assert "Removed gone" in answer.text
    assert await tether_app.store.list_sources() == []


async def test_a_connector_can_be_disabled_and_enabled(tether_app: App, page: Page) -> None:
    await page.post("/connectors", {"name": "off", "url": "http://127.0.0.1:9/mcp"})
    answer = await page.post("/connectors/off/enabled", {})
    assert "disabled" in answer.text
    assert not (await tether_app.store.get_source("off")).is_enabled
    assert "off" not in tether_app.host.statuses()
