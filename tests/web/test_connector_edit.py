"""Settings > Connectors > Edit: the prefilled form, masked secrets, field errors with nothing saved,
a URL change that drops the old tokens, and two tabs editing the same connector."""

from __future__ import annotations

import dataclasses
import re

import anyio
import pytest
from mcp.shared.auth import OAuthToken
from starlette.applications import Starlette

from tests.web.conftest import WAIT_S, Page, second_tab
from tether.app import App
from tether.core.storage import ActivityFilter
from tether.types import SourceKind
from tether.web.security import Sessions

pytestmark = pytest.mark.anyio

OLD_URL = "http://127.0.0.1:9/mcp"
NEW_URL = "http://127.0.0.1:9/v2/mcp"
HEADER_VALUE = "Bearer header-secret-0123456789"
CLIENT_SECRET = "client-secret-9876543210"


async def add(page: Page, **fields: str) -> None:
    with anyio.fail_after(WAIT_S):
        answer = await page.post("/connectors", {"name": "crm", "url": OLD_URL, **fields})
    assert answer.headers["hx-redirect"].startswith("/connectors"), answer.text


async def open_form(page: Page, name: str = "crm") -> tuple[str, str]:
    """(the card with its edit form, the form's version)."""
    answer = await page.get(f"/connectors/{name}/edit", **{"HX-Request": "true"})
    assert answer.status_code == 200, answer.text
    version = re.search(r'name="version" value="([^"]+)"', answer.text)
    assert version is not None
    return answer.text, version.group(1)


async def save(page: Page, version: str, **fields: str) -> tuple[int, str]:
    form = {"version": version, "url": OLD_URL, "transport": "http", "timeout_s": "60", **fields}
    with anyio.fail_after(WAIT_S):
        answer = await page.post("/connectors/crm/edit", form)
    return answer.status_code, answer.text


async def test_the_form_is_prefilled_and_never_shows_a_secret(tether_app: App, page: Page) -> None:
    await add(page, headers=f"X-Team: {HEADER_VALUE}", client_id="my-client", client_secret=CLIENT_SECRET)
    body, _ = await open_form(page)
    assert f'value="{OLD_URL}"' in body
    assert 'value="my-client"' in body
    assert "<code>X-Team</code>" in body
    assert "saved: leave empty to keep it" in body
    for page_html in (body, (await page.get("/connectors")).text):
        assert HEADER_VALUE not in page_html
        assert CLIENT_SECRET not in page_html


async def test_saving_changes_the_settings_and_keeps_secrets_left_empty(tether_app: App, page: Page) -> None:
    await add(page, headers=f"X-Team: {HEADER_VALUE}", client_id="my-client", client_secret=CLIENT_SECRET)
    _, version = await open_form(page)
    status, body = await save(page, version, transport="sse", timeout_s="90", client_id="my-client")
    assert status == 200, body
    assert "Saved: transport, call timeout." in body
    assert HEADER_VALUE not in body
    config = await tether_app.store.get_source("crm")
    assert (config.kind, config.call_timeout_s, config.url) == (SourceKind.SSE, 90.0, OLD_URL)
    vault = tether_app.connector_vault(config)
    assert vault.load_headers() == {"X-Team": HEADER_VALUE}
    client = vault.load_client()
    assert client is not None
    assert client.info.client_secret == CLIENT_SECRET
    changed = await tether_app.store.records(ActivityFilter(kind="source.changed"))
    assert {r.data.get("setting") for r in changed} == {"transport", "timeout"}
    assert all(HEADER_VALUE not in str(r.data) for r in changed)


async def test_headers_are_replaced_or_removed_and_the_secret_cleared(tether_app: App, page: Page) -> None:
    await add(page, headers=f"X-Team: {HEADER_VALUE}", client_id="my-client", client_secret=CLIENT_SECRET)
    _, version = await open_form(page)
    status, body = await save(
        page, version, client_id="my-client", headers="X-Other: 1", clear_client_secret="on"
    )
    assert status == 200, body
    vault = tether_app.connector_vault(await tether_app.store.get_source("crm"))
    assert vault.load_headers() == {"X-Other": "1"}
    client = vault.load_client()
    assert client is not None
    assert client.info.client_secret is None
    _, version = await open_form(page)
    status, _ = await save(page, version, client_id="", clear_headers="on")
    assert status == 200
    assert vault.load_headers() == {}
    assert vault.load_client() is None


async def test_invalid_input_gets_field_errors_and_saves_nothing(tether_app: App, page: Page) -> None:
    await add(page, headers=f"X-Team: {HEADER_VALUE}")
    before = await tether_app.store.get_source("crm")
    _, version = await open_form(page)
    status, body = await save(
        page,
        version,
        url="ftp://nowhere",
        transport="carrier-pigeon",
        timeout_s="-5",
        headers="no colon",
        client_secret=CLIENT_SECRET,
    )
    assert status == 422
    for key in ("url", "transport", "timeout_s", "headers", "client_secret"):
        assert f'id="e-crm-{key}-error"' in body, key
    assert 'value="ftp://nowhere"' in body  # what was typed is kept
    assert CLIENT_SECRET not in body
    assert HEADER_VALUE not in body
    assert await tether_app.store.get_source("crm") == before
    assert tether_app.connector_vault(before).load_headers() == {"X-Team": HEADER_VALUE}
    assert tether_app.connector_vault(before).load_client() is None


async def test_a_new_client_id_needs_its_own_secret(tether_app: App, page: Page) -> None:
    await add(page, client_id="old-client", client_secret=CLIENT_SECRET)
    _, version = await open_form(page)
    status, body = await save(page, version, client_id="new-client")
    assert status == 422
    assert 'id="e-crm-client_secret-error"' in body
    client = tether_app.connector_vault(await tether_app.store.get_source("crm")).load_client()
    assert client is not None
    assert client.info.client_id == "old-client"


async def test_changing_the_url_drops_the_old_tokens_and_says_so(tether_app: App, page: Page) -> None:
    await add(page, headers=f"X-Team: {HEADER_VALUE}")
    config = await tether_app.store.get_source("crm")
    tether_app.connector_vault(config).save_token(OAuthToken(access_token="old-access", token_type="Bearer"))
    body, version = await open_form(page)
    assert "Changing it signs you out" in body
    status, body = await save(page, version, url=NEW_URL)
    assert status == 200, body
    assert "Signed out" in body
    assert "old-access" not in body
    edited = await tether_app.store.get_source("crm")
    assert edited.url == NEW_URL
    vault = tether_app.connector_vault(edited)
    assert vault.grant_fingerprint() is None
    assert tether_app.connector_vault(config).load_grant() is None
    assert vault.load_headers() == {"X-Team": HEADER_VALUE}
    assert NEW_URL in (await page.get("/connectors")).text


async def test_two_tabs_editing_the_same_connector_get_a_conflict_not_a_silent_loss(
    tether_app: App, web_app: tuple[Starlette, Sessions], page: Page
) -> None:
    await add(page)
    other = await second_tab(web_app, page)
    _, opened = await open_form(page)
    _, opened_elsewhere = await open_form(other)
    assert opened == opened_elsewhere
    status, _ = await save(page, opened, timeout_s="30")
    assert status == 200
    status, body = await save(other, opened, timeout_s="120", url=NEW_URL)
    assert status == 409
    assert "changed elsewhere" in body
    assert f'value="{NEW_URL}"' in body  # the second tab's edits are shown again
    assert "Saved meanwhile: <code>30</code>" in body
    config = await tether_app.store.get_source("crm")
    assert (config.call_timeout_s, config.url) == (30.0, OLD_URL)
    fresh = re.search(r'name="version" value="([^"]+)"', body)
    assert fresh is not None
    status, _ = await save(other, fresh.group(1), timeout_s="120", url=NEW_URL)
    assert status == 200
    assert (await tether_app.store.get_source("crm")).call_timeout_s == 120.0


async def test_a_secret_saved_elsewhere_also_makes_the_form_stale(tether_app: App, page: Page) -> None:
    await add(page)
    _, version = await open_form(page)
    tether_app.connector_vault(await tether_app.store.get_source("crm")).save_headers({"X-New": "v"})
    status, body = await save(page, version, timeout_s="30")
    assert status == 409
    assert "<code>X-New</code>" in body
    assert (await tether_app.store.get_source("crm")).call_timeout_s == 60.0


async def test_an_edit_without_the_csrf_token_is_refused(tether_app: App, page: Page) -> None:
    await add(page)
    _, version = await open_form(page)
    answer = await page.http.post(
        "/connectors/crm/edit", data={"version": version, "url": NEW_URL}, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 403
    assert (await tether_app.store.get_source("crm")).url == OLD_URL


async def test_editing_an_unknown_connector_is_not_found(page: Page) -> None:
    answer = await page.post("/connectors/nobody/edit", {"version": "x", "url": NEW_URL})
    assert answer.status_code == 404


async def test_an_edit_made_by_another_process_restarts_the_running_connector(
    tether_app: App, page: Page
) -> None:
    await add(page)
    assert "crm" in tether_app.host.statuses()
    config = await tether_app.store.get_source("crm")
    await tether_app.store.update_source(
        dataclasses.replace(config, url=NEW_URL)
    )  # as `tether connector edit`
    with anyio.fail_after(WAIT_S):
        await tether_app.reconcile()
    running = tether_app.host.source("crm")
    assert getattr(running, "config").url == NEW_URL  # noqa: B009
