"""Settings > Connectors > Directory: search (text, category, kind), entries marked connector or
extension and curated or registry, offline, Connect through OAuth, Set up, Install with the sha256
checked. The registry is a stand-in on 127.0.0.1 (tests/connectors/registry_server.py)."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from pathlib import Path

import anyio
import pytest

from tests.connectors.registry_server import Registry, record, serve_registry
from tests.connectors.servers import serve_tasks
from tests.web.conftest import WAIT_S, Page
from tests.web.test_connectors import consent
from tests.web.test_extensions import assert_nothing_installed, keyed_bundle
from tether.app import App
from tether.config import Settings, load_settings
from tether.types import SourceState

pytestmark = pytest.mark.anyio

TASKS = "io.github.acme/tasks"
KEYED = "io.github.acme/keyed"


@pytest.fixture
async def registry() -> AsyncGenerator[Registry]:
    async with serve_registry() as served:
        yield served


@pytest.fixture
def settings(tmp_path: Path, registry: Registry) -> Settings:
    return load_settings(
        {
            "TETHER_HOME": str(tmp_path / "home"),
            "TETHER_CONFIG": str(tmp_path / "tether.toml"),
            "TETHER_SECRETS_BACKEND": "file",
            "TETHER_START_TIMEOUT_S": "15",
            "TETHER_MAX_START_FAILURES": "1",
            "TETHER_DIRECTORY_REGISTRY_URL": registry.base_url,
        }
    )


async def search(page: Page, **params: str) -> str:
    with anyio.fail_after(WAIT_S):
        answer = await page.http.get("/directory", params=params, headers={"HX-Request": "true"})
    assert answer.status_code == 200, answer.text
    return answer.text


def publish_keyed(registry: Registry, tmp_path: Path, *, sha256: str | None = None) -> None:
    url, digest = registry.host_bundle("keyed.mcpb", keyed_bundle(tmp_path))
    registry.publish(record(KEYED, title="Keyed", bundle=(url, sha256 or digest)))


async def test_the_page_loads_the_directory_lazily_with_its_filters(page: Page) -> None:
    body = (await page.get("/connectors")).text
    assert 'hx-get="/directory" hx-trigger="load"' in body
    assert 'id="d-query"' in body
    assert '<option value="Payments">Payments</option>' in body


async def test_search_marks_connectors_extensions_and_where_they_come_from(
    page: Page, registry: Registry, tmp_path: Path
) -> None:
    registry.publish(record(TASKS, title="Acme tasks", remote="https://tasks.example.com/mcp"))
    publish_keyed(registry, tmp_path)
    body = await search(page)
    assert "Linear" in body
    assert "Acme tasks" in body
    assert "Keyed" in body
    assert 'data-kind="connector"' in body
    assert 'data-kind="extension"' in body
    assert "Curated" in body
    assert "MCP Registry" in body
    assert "data-offline" not in body

    found = await search(page, q="linear")
    assert "Linear" in found
    assert "Acme tasks" not in found
    extensions = await search(page, kind="extension")
    assert "Keyed" in extensions
    assert 'data-kind="connector"' not in extensions
    payments = await search(page, category="Payments")
    assert "Stripe" in payments
    assert "Linear" not in payments
    assert "Acme tasks" not in payments


async def test_an_unreachable_registry_shows_the_curated_catalog_marked_offline(
    page: Page, registry: Registry
) -> None:
    registry.mode = "error"
    body = await search(page, q="linear")
    assert "data-offline" in body
    assert "Linear" in body


async def test_registry_text_is_escaped_and_nothing_is_sent_back_but_the_id(
    page: Page, registry: Registry
) -> None:
    registry.publish(
        record(
            "io.github.evil/xss",
            title="<img src=x onerror=alert(1)>",
            description="<script>alert(1)</script>",
            remote="https://evil.example.com/mcp",
        )
    )
    body = await search(page, q="xss")
    assert "<script>alert(1)" not in body
    assert "<img src=x" not in body
    assert "&lt;script&gt;" in body
    assert '"entry": "io.github.evil/xss"' in body.replace("&#34;", '"')


async def test_connect_adds_the_connector_and_signs_in_through_the_web_callback(
    tether_app: App, page: Page, registry: Registry
) -> None:
    async with serve_tasks() as server:
        registry.publish(record(TASKS, title="Acme tasks", remote=server.mcp_url))
        with anyio.fail_after(WAIT_S * 2):
            started = await page.post("/directory/connect", {"entry": TASKS})
            authorization_url = started.headers["hx-redirect"]
            assert authorization_url.startswith(server.base_url)
            callback = await consent(authorization_url)
            done = await page.http.get(callback.removeprefix("http://127.0.0.1:8765"))
        assert "Signed in to tasks" in done.text
        config = await tether_app.store.get_source("tasks")
        assert config.url == server.mcp_url
        with anyio.fail_after(WAIT_S):
            await tether_app.host.source("tasks").wait_state(SourceState.RUNNING)  # pyright: ignore[reportAttributeAccessIssue]
        listed = await search(page, q="tasks")
        assert "Added as tasks" in listed

        again = await page.post("/directory/connect", {"entry": TASKS})  # already added: no second copy
        assert again.headers["hx-redirect"].startswith("/connectors?added=tasks")
        assert [c.name for c in await tether_app.store.list_sources() if c.url] == ["tasks"]
        await page.post("/connectors/tasks/remove")


async def test_a_taken_name_gets_a_number(tether_app: App, page: Page, registry: Registry) -> None:
    await page.post("/connectors", {"name": "tasks", "url": "http://127.0.0.1:9/other"})
    registry.publish(record(TASKS, remote="http://127.0.0.1:9/mcp"))
    with anyio.fail_after(WAIT_S):
        answer = await page.post("/directory/connect", {"entry": TASKS})
    assert answer.headers["hx-redirect"].startswith("/connectors?added=tasks-2")
    assert (await tether_app.store.get_source("tasks-2")).url == "http://127.0.0.1:9/mcp"


async def test_an_entry_without_a_fixed_url_opens_the_custom_form_prefilled(
    tether_app: App, page: Page
) -> None:
    listed = await search(page, q="workato")
    assert "Set up" in listed
    answer = await page.http.get(
        "/directory/setup", params={"entry": "workato"}, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 200
    assert 'id="connector-form"' in answer.text
    assert 'value="workato"' in answer.text
    assert "needs your own URL" in answer.text
    header = await page.http.get(
        "/directory/setup", params={"entry": "zapier"}, headers={"HX-Request": "true"}
    )
    assert "needs a header with your token" in header.text
    assert "<details open>" in header.text  # the headers field is in Advanced
    refused = await page.post("/directory/connect", {"entry": "workato"})
    assert refused.status_code == 422
    assert await tether_app.store.list_sources() == []


async def test_install_downloads_checks_and_previews_the_bundle(
    tether_app: App, page: Page, registry: Registry, tmp_path: Path
) -> None:
    publish_keyed(registry, tmp_path)
    with anyio.fail_after(WAIT_S):
        preview = await page.post("/directory/install", {"entry": KEYED})
    assert preview.status_code == 200, preview.text
    assert "Keyed" in preview.text
    await assert_nothing_installed(tether_app)
    upload_id = re.search(r'"upload_id": "([^"]+)"', preview.text.replace("&#34;", '"'))
    assert upload_id is not None
    with anyio.fail_after(WAIT_S):
        installed = await page.post("/extensions/install", {"upload_id": upload_id.group(1)})
    assert installed.headers["hx-redirect"].startswith("/extensions?open=keyed")
    assert await tether_app.directory_origin("keyed") == KEYED


async def test_a_bundle_whose_hash_differs_is_not_installed(
    tether_app: App, page: Page, registry: Registry, tmp_path: Path
) -> None:
    publish_keyed(registry, tmp_path, sha256="0" * 64)
    with anyio.fail_after(WAIT_S):
        answer = await page.post("/directory/install", {"entry": KEYED})
    assert answer.status_code == 422
    assert 'data-problem="bundle_hash_mismatch"' in answer.text
    await assert_nothing_installed(tether_app)


async def test_unknown_entries_and_wrong_kinds_are_refused(page: Page, registry: Registry) -> None:
    assert (await page.post("/directory/connect", {"entry": "io.github.nobody/none"})).status_code == 404
    assert (await page.post("/directory/install", {"entry": "linear"})).status_code == 422


async def test_directory_posts_without_the_csrf_token_are_refused(tether_app: App, page: Page) -> None:
    for path in ("/directory/connect", "/directory/install"):
        answer = await page.http.post(path, data={"entry": "linear"}, headers={"HX-Request": "true"})
        assert answer.status_code == 403
    assert await tether_app.store.list_sources() == []
