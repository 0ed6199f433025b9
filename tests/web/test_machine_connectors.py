"""Settings > Connectors, signing in as this app: the client_credentials choice of the add form,
a token at once without a browser, the refusal shown on the card, the secret or key replaced in
the edit form, field errors with nothing saved, and no secret or key ever in a page."""

from __future__ import annotations

import re

import anyio
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.connectors.servers import serve_tasks
from tests.web.conftest import WAIT_S, Page
from tether.app import App
from tether.connectors.remote import RemoteSource
from tether.types import SourceState

pytestmark = pytest.mark.anyio

SECRET = "robot-secret-5e1f0c"
WRONG_SECRET = "wrong-secret-77aa"
NOWHERE = "http://127.0.0.1:9/mcp"
MACHINE = {"sign_in_as": "client_credentials"}


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


EC_KEY = _pem(ec.generate_private_key(ec.SECP256R1()))
KEY_BODY = "".join(EC_KEY.splitlines()[1:-1])[:40]
"""A piece of the key that would show if the key were ever rendered."""


async def _state(app: App, name: str, *states: SourceState) -> None:
    source = app.host.source(name)
    assert isinstance(source, RemoteSource)
    with anyio.fail_after(WAIT_S):
        await source.wait_state(*states)


async def _pages(page: Page, name: str) -> list[str]:
    """Every page that shows the connector: the listing, its card and its edit form."""
    shown = [(await page.get("/connectors")).text]
    shown.append((await page.get(f"/connectors/{name}/card", **{"HX-Request": "true"})).text)
    shown.append((await page.get(f"/connectors/{name}/edit", **{"HX-Request": "true"})).text)
    return shown


def _assert_nothing_secret(*htmls: str) -> None:
    for html in htmls:
        for secret in (SECRET, WRONG_SECRET, KEY_BODY):
            assert secret not in html


async def _open_edit(page: Page, name: str) -> str:
    answer = await page.get(f"/connectors/{name}/edit", **{"HX-Request": "true"})
    version = re.search(r'name="version" value="([^"]+)"', answer.text)
    assert version is not None
    return version.group(1)


async def test_the_add_form_offers_signing_in_as_this_app(page: Page) -> None:
    listing = (await page.get("/connectors")).text
    assert 'name="sign_in_as" value="person" checked' in listing
    assert 'value="client_credentials"' in listing
    assert 'name="private_key_file" type="file"' in listing
    assert 'hx-encoding="multipart/form-data"' in listing


async def test_a_service_client_added_in_the_form_connects_without_a_browser(
    tether_app: App, page: Page
) -> None:
    async with serve_tasks() as server:
        server.authority.register_service_client("robot", SECRET)
        with anyio.fail_after(WAIT_S):
            added = await page.post(
                "/connectors",
                {
                    "name": "tasks",
                    "url": server.mcp_url,
                    "client_id": "robot",
                    "client_secret": SECRET,
                    **MACHINE,
                },
            )
        assert added.headers["hx-redirect"].startswith("/connectors?added=tasks"), added.text
        assert "hx-redirect" in added.headers  # no authorization page to go to
        await _state(tether_app, "tasks", SourceState.RUNNING)
        assert server.authority.client_credentials_count == 1
        config = await tether_app.store.get_source("tasks")
        stored = tether_app.connector_vault(config).load_client()
        assert stored is not None
        assert stored.is_client_credentials
        assert stored.info.client_secret == SECRET
        shown = await _pages(page, "tasks")
        assert "connected" in shown[1]
        assert "signs in as this app" in shown[1]
        _assert_nothing_secret(added.text, *shown)

        asked = server.authority.client_credentials_count
        with anyio.fail_after(WAIT_S):
            connected = await page.post("/connectors/tasks/connect")  # a new token, no browser
        assert "hx-redirect" not in connected.headers
        assert "Signed in to tasks" in connected.text
        assert server.authority.client_credentials_count > asked
        await page.post("/connectors/tasks/remove")


async def test_a_refused_secret_is_an_error_on_the_card_and_a_new_one_in_edit_connects(
    tether_app: App, page: Page
) -> None:
    async with serve_tasks() as server:
        server.authority.register_service_client("robot", SECRET)
        with anyio.fail_after(WAIT_S):
            await page.post(
                "/connectors",
                {
                    "name": "tasks",
                    "url": server.mcp_url,
                    "client_id": "robot",
                    "client_secret": WRONG_SECRET,
                    **MACHINE,
                },
            )
        await _state(tether_app, "tasks", SourceState.FAILED)
        card = (await page.get("/connectors/tasks/card", **{"HX-Request": "true"})).text
        assert ">error<" in card
        assert "<code data-error-code>client_credentials_refused</code>" in card
        assert "check them with Edit" in card
        version = await _open_edit(page, "tasks")
        with anyio.fail_after(WAIT_S):
            saved = await page.post(
                "/connectors/tasks/edit",
                {
                    "version": version,
                    "url": server.mcp_url,
                    "transport": "http",
                    "timeout_s": "60",
                    "client_id": "robot",
                    "client_secret": SECRET,
                },
            )
        assert saved.status_code == 200, saved.text
        assert "Saved: OAuth client." in saved.text
        await _state(tether_app, "tasks", SourceState.RUNNING)
        _assert_nothing_secret(saved.text, *(await _pages(page, "tasks")))
        await page.post("/connectors/tasks/remove")


async def test_a_private_key_file_is_kept_in_the_secret_store_only(tether_app: App, page: Page) -> None:
    with anyio.fail_after(WAIT_S):
        added = await page.post(
            "/connectors",
            {"name": "crm", "url": NOWHERE, "client_id": "robot", "signing_alg": "ES256", **MACHINE},
            files={"private_key_file": ("robot.pem", EC_KEY.encode(), "application/x-pem-file")},
        )
    assert added.headers["hx-redirect"].startswith("/connectors"), added.text
    config = await tether_app.store.get_source("crm")
    vault = tether_app.connector_vault(config)
    stored = vault.load_client()
    assert stored is not None
    assert stored.private_key_pem == EC_KEY.strip()
    assert stored.signing_alg == "ES256"
    assert stored.info.client_secret is None
    shown = await _pages(page, "crm")
    assert "Saved (ES256)" in shown[2]
    _assert_nothing_secret(*shown)
    for path in [p for p in tether_app.settings.home.rglob("*") if p.is_file()]:
        assert KEY_BODY.encode() not in path.read_bytes(), path


async def test_the_edit_form_replaces_the_key_with_a_secret_and_back(tether_app: App, page: Page) -> None:
    await page.post(
        "/connectors", {"name": "crm", "url": NOWHERE, "client_id": "robot", "private_key": EC_KEY, **MACHINE}
    )
    config = await tether_app.store.get_source("crm")
    vault = tether_app.connector_vault(config)
    base = {"url": NOWHERE, "transport": "http", "timeout_s": "60", "client_id": "robot"}

    with anyio.fail_after(WAIT_S):
        saved = await page.post(
            "/connectors/crm/edit",
            {**base, "version": await _open_edit(page, "crm"), "client_secret": SECRET},
        )
    assert saved.status_code == 200, saved.text
    stored = vault.load_client()
    assert stored is not None
    assert (stored.info.client_secret, stored.private_key_pem) == (SECRET, None)

    rsa_key = _pem(rsa.generate_private_key(65537, 2048))
    with anyio.fail_after(WAIT_S):
        saved = await page.post(
            "/connectors/crm/edit",
            {**base, "version": await _open_edit(page, "crm")},
            files={"private_key_file": ("new.pem", rsa_key.encode(), "application/x-pem-file")},
        )
    assert saved.status_code == 200, saved.text
    stored = vault.load_client()
    assert stored is not None
    assert stored.is_client_credentials
    assert (stored.info.client_secret, stored.signing_alg) == (None, "RS256")
    assert stored.private_key_pem == rsa_key.strip()
    rsa_body = "".join(rsa_key.splitlines()[1:-1])[:40]
    for html in (saved.text, *(await _pages(page, "crm"))):
        assert rsa_body not in html
        assert SECRET not in html


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"client_secret": SECRET}, "client_id"),
        ({"client_id": "robot"}, "client_secret"),
        ({"client_id": "robot", "client_secret": SECRET, "private_key": EC_KEY}, "private_key"),
        ({"client_id": "robot", "private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n"}, "private_key"),
        ({"client_id": "robot", "private_key": EC_KEY, "signing_alg": "HS256"}, "signing_alg"),
        ({"client_id": "robot", "private_key": EC_KEY, "signing_alg": "RS256"}, "private_key"),
        ({"client_id": "robot", "client_secret": SECRET, "sign_in_as": "robot"}, "sign_in_as"),
    ],
)
async def test_bad_machine_input_gets_a_field_error_and_adds_nothing(
    tether_app: App, page: Page, fields: dict[str, str], field: str
) -> None:
    answer = await page.post("/connectors", {"name": "crm", "url": NOWHERE, **MACHINE, **fields})
    assert answer.status_code == 422
    errors = re.findall(r'<p class="field-error"(?: id="c-([a-z-]+)-error")?>', answer.text)
    assert errors, answer.text
    if field in ("client_id", "private_key"):
        assert f'id="c-{field.replace("_", "-")}-error"' in answer.text
    assert "nothing was added" in answer.text
    assert 'value="client_credentials" checked' in answer.text or field == "sign_in_as"
    _assert_nothing_secret(answer.text)
    assert await tether_app.store.list_sources() == []


async def test_a_key_both_pasted_and_chosen_as_a_file_is_refused(tether_app: App, page: Page) -> None:
    answer = await page.post(
        "/connectors",
        {"name": "crm", "url": NOWHERE, "client_id": "robot", "private_key": EC_KEY, **MACHINE},
        files={"private_key_file": ("robot.pem", EC_KEY.encode(), "application/x-pem-file")},
    )
    assert answer.status_code == 422
    assert "not both" in answer.text
    binary = await page.post(
        "/connectors",
        {"name": "crm", "url": NOWHERE, "client_id": "robot", **MACHINE},
        files={"private_key_file": ("robot.der", b"\xff\xfe\x00binary", "application/octet-stream")},
    )
    assert binary.status_code == 422
    assert "not a text PEM file" in binary.text
    assert await tether_app.store.list_sources() == []


async def test_a_bad_key_in_the_edit_form_saves_nothing(tether_app: App, page: Page) -> None:
    await page.post(
        "/connectors",
        {"name": "crm", "url": NOWHERE, "client_id": "robot", "client_secret": SECRET, **MACHINE},
    )
    config = await tether_app.store.get_source("crm")
    before = tether_app.connector_vault(config).load_client()
    form = {"url": NOWHERE, "transport": "http", "timeout_s": "60", "client_id": "robot"}
    for bad, field in [
        ({"private_key": "not a key"}, "private_key"),
        ({"private_key": EC_KEY, "client_secret": "another-secret"}, "private_key"),
        ({"private_key": EC_KEY, "signing_alg": "none"}, "signing_alg"),
        ({"client_id": ""}, "client_id"),
    ]:
        with anyio.fail_after(WAIT_S):
            answer = await page.post(
                "/connectors/crm/edit", {**form, "version": await _open_edit(page, "crm"), **bad}
            )
        assert answer.status_code == 422, bad
        said = re.search(rf'id="e-crm-{field}-error">([^<]*)</p>', answer.text)
        assert said is not None, (bad, answer.text)
        assert "--" not in said.group(1)  # the form's words, not the command line's flags
        _assert_nothing_secret(answer.text)
    assert tether_app.connector_vault(config).load_client() == before


async def test_a_person_connector_has_no_key_fields_in_its_edit_form(tether_app: App, page: Page) -> None:
    await page.post(
        "/connectors", {"name": "crm", "url": NOWHERE, "client_id": "app", "client_secret": SECRET}
    )
    answer = await page.get("/connectors/crm/edit", **{"HX-Request": "true"})
    assert 'name="private_key"' not in answer.text
    config = await tether_app.store.get_source("crm")
    stored = tether_app.connector_vault(config).load_client()
    assert stored is not None
    assert not stored.is_client_credentials
