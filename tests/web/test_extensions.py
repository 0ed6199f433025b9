"""Settings > Extensions: upload with a preview, install, the generated settings form (field errors,
masked secrets, conflicts between two tabs), update, enable, remove, and bundles that are refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import anyio
import pytest
from starlette.applications import Starlette

from tests.extensions.bundle_samples import bundle_bytes, file
from tests.extensions.ext_servers import manifest, python_extension
from tests.web.conftest import WAIT_S, Page, second_tab
from tether.app import App
from tether.core.storage import ActivityFilter
from tether.extensions.pack import pack_bundle
from tether.types import SourceState
from tether.web.security import Sessions

pytestmark = pytest.mark.anyio

API_KEY = "sk-live-abcdef0123456789"
MCPB = "application/octet-stream"


def keyed_manifest(version: str = "1.0.0") -> dict[str, object]:
    """A Python extension with a sensitive required key, a required folder, a boolean and a number."""
    return manifest(
        "keyed",
        server_type="python",
        version=version,
        mcp_config={
            "command": "python",
            "args": ["${__dirname}/server/main.py", "--root=${user_config.root}"],
            "env": {"API_KEY": "${user_config.api_key}"},
        },
        user_config={
            "api_key": {"type": "string", "title": "API key", "sensitive": True, "required": True},
            "root": {"type": "directory", "title": "Root folder", "required": True},
            "verbose": {"type": "boolean", "title": "Verbose", "default": False},
            "limit": {"type": "number", "title": "Limit", "min": 1, "max": 10},
        },
    )


def keyed_bundle(tmp_path: Path, version: str = "1.0.0") -> bytes:
    return pack_bundle(python_extension(tmp_path / f"keyed-{version}", keyed_manifest(version)))


async def preview(page: Page, data: bytes, name: str = "keyed.mcpb") -> tuple[int, str]:
    answer = await page.post("/extensions/preview", files={"bundle": (name, data, MCPB)})
    return answer.status_code, answer.text


async def install(page: Page, data: bytes) -> str:
    status, body = await preview(page, data)
    assert status == 200, body
    upload_id = re.search(r'"upload_id": "([^"]+)"', body.replace("&#34;", '"'))
    assert upload_id is not None
    with anyio.fail_after(WAIT_S):
        answer = await page.post("/extensions/install", {"upload_id": upload_id.group(1)})
    assert answer.status_code == 200, answer.text
    return answer.headers["hx-redirect"]


async def version_field(page: Page, extension_id: str = "keyed") -> str:
    body = (await page.get("/extensions")).text
    found = re.search(
        rf'hx-post="/extensions/{extension_id}/settings".*?name="version" value="([^"]+)"', body, re.S
    )
    assert found is not None
    return found.group(1)


async def assert_nothing_installed(app: App) -> None:
    folder = app.settings.home / "extensions"
    assert not folder.exists() or not [p for p in folder.iterdir() if p.name != ".locks"]
    assert await app.store.list_extensions() == []
    assert await app.store.list_sources() == []


async def test_the_preview_says_what_it_is_and_installs_nothing(
    tether_app: App, page: Page, tmp_path: Path
) -> None:
    status, body = await preview(page, keyed_bundle(tmp_path))
    assert status == 200
    for expected in (
        "Keyed",
        "1.0.0",
        "by Tester",
        "unsigned",
        "greet",
        "list_dir",
        "API key",
        "Root folder",
    ):
        assert expected in body
    assert "required" in body
    assert "the folders and files you choose in its settings: Root folder" in body
    await assert_nothing_installed(tether_app)


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("notes.txt", b"just some text, not a bundle", "invalid_bundle"),
        ("slip.mcpb", bundle_bytes(None, file("../../escape.js", "x")), "invalid_bundle"),
        ("abs.mcpb", bundle_bytes(None, file("/etc/evil", "x")), "invalid_bundle"),
        ("empty.mcpb", b"", "invalid_bundle"),
    ],
)
async def test_a_non_bundle_or_hostile_zip_is_refused_on_the_page(
    tether_app: App, page: Page, name: str, data: bytes, code: str
) -> None:
    status, body = await preview(page, data, name)
    assert status == 422
    assert f'data-problem="{code}"' in body
    assert "Not installed." in body
    await assert_nothing_installed(tether_app)


async def test_install_then_fill_the_required_settings(tether_app: App, page: Page, tmp_path: Path) -> None:
    redirect = await install(page, keyed_bundle(tmp_path))
    assert redirect.startswith("/extensions?open=keyed")
    body = (await page.get(redirect)).text
    assert "needs settings" in body
    assert 'aria-required="true"' in body
    assert (await tether_app.store.get_extension("keyed")).version == "1.0.0"

    folder = tmp_path / "notes"
    folder.mkdir()
    with anyio.fail_after(WAIT_S):
        saved = await page.post(
            "/extensions/keyed/settings",
            {"version": await version_field(page), "api_key": API_KEY, "root": str(folder), "verbose": "on"},
        )
    assert saved.status_code == 200, saved.text
    assert "running" in saved.text
    assert API_KEY not in saved.text
    with anyio.fail_after(WAIT_S):
        who = await tether_app.host.source("keyed").call_tool("whoami", {})
    assert json.loads(who.text)["args"] == [f"--root={folder}"]
    configured = await tether_app.store.records(ActivityFilter(kind="extension.configured"))
    assert configured[-1].data["changed"]["api_key"] == "[redacted]"


async def test_invalid_settings_get_field_errors_and_nothing_is_saved(
    tether_app: App, page: Page, tmp_path: Path
) -> None:
    await install(page, keyed_bundle(tmp_path))
    before = await tether_app.store.get_extension("keyed")
    answer = await page.post(
        "/extensions/keyed/settings",
        {
            "version": await version_field(page),
            "api_key": API_KEY,
            "root": str(tmp_path / "does-not-exist"),
            "limit": "99",
        },
    )
    assert answer.status_code == 422
    body = answer.text
    assert 'id="set-keyed-root-error"' in body
    assert 'id="set-keyed-limit-error"' in body
    assert 'aria-invalid="true"' in body
    assert str(tmp_path / "does-not-exist") in body  # what was typed stays in the form
    assert API_KEY not in body  # but a secret is never sent back
    after = await tether_app.store.get_extension("keyed")
    assert after.updated_at == before.updated_at
    assert after.settings == before.settings
    assert tether_app.secrets.get_secret("extension/keyed/setting/api_key") is None


async def test_a_saved_secret_is_never_rendered_and_an_empty_field_keeps_it(
    tether_app: App, page: Page, tmp_path: Path
) -> None:
    await install(page, keyed_bundle(tmp_path))
    folder = tmp_path / "docs"
    folder.mkdir()
    await page.post(
        "/extensions/keyed/settings",
        {"version": await version_field(page), "api_key": API_KEY, "root": str(folder)},
    )
    for path in ("/extensions", "/tools", "/activity", "/approvals", "/connectors"):
        assert API_KEY not in (await page.get(path)).text, path
    body = (await page.get("/extensions")).text
    assert "saved: leave empty to keep it" in body
    await page.post(
        "/extensions/keyed/settings",
        {"version": await version_field(page), "api_key": "", "root": str(folder)},
    )
    assert tether_app.secrets.get_secret("extension/keyed/setting/api_key") == json.dumps(API_KEY)


async def test_two_tabs_saving_the_same_settings_get_a_conflict_not_a_silent_loss(
    tether_app: App, web_app: tuple[Starlette, Sessions], page: Page, tmp_path: Path
) -> None:
    await install(page, keyed_bundle(tmp_path))
    first_folder, second_folder = tmp_path / "first", tmp_path / "second"
    first_folder.mkdir()
    second_folder.mkdir()
    other = await second_tab(web_app, page)
    opened = await version_field(page)
    assert await version_field(other) == opened
    with anyio.fail_after(WAIT_S):
        first = await page.post(
            "/extensions/keyed/settings", {"version": opened, "api_key": API_KEY, "root": str(first_folder)}
        )
        second = await other.post(
            "/extensions/keyed/settings",
            {"version": opened, "api_key": "", "root": str(second_folder), "limit": "3"},
        )
    await other.http.aclose()
    assert first.status_code == 200
    assert second.status_code == 409
    assert "saved elsewhere" in second.text
    assert str(second_folder) in second.text  # the second tab's edit is still there to save again
    assert f"Saved meanwhile: <code>{first_folder}</code>" in second.text
    assert (await tether_app.store.get_extension("keyed")).settings["root"] == str(first_folder)


async def test_update_disable_and_remove(tether_app: App, page: Page, tmp_path: Path) -> None:
    await install(page, keyed_bundle(tmp_path))
    with anyio.fail_after(WAIT_S):
        updated = await page.post(
            "/extensions/keyed/update",
            files={"bundle": ("keyed-2.mcpb", keyed_bundle(tmp_path, "2.0.0"), MCPB)},
        )
    assert updated.status_code == 200
    assert "2.0.0" in updated.text
    assert (await tether_app.store.get_extension("keyed")).version == "2.0.0"
    refused = await page.post("/extensions/keyed/update", files={"bundle": ("x.mcpb", b"garbage", MCPB)})
    assert "not installed" in refused.text.lower() or "zip" in refused.text.lower()
    assert (await tether_app.store.get_extension("keyed")).version == "2.0.0"

    off = await page.post("/extensions/keyed/enabled", {})
    assert "disabled" in off.text
    assert not (await tether_app.store.get_source("keyed")).is_enabled

    removed = await page.post("/extensions/keyed/remove")
    assert "Removed keyed 2.0.0" in removed.text
    await assert_nothing_installed(tether_app)


async def test_a_running_extension_shows_its_tools_and_logs(
    tether_app: App, page: Page, tmp_path: Path
) -> None:
    raw = manifest("tiny", server_type="python")
    await install(page, pack_bundle(python_extension(tmp_path / "tiny", raw)))
    with anyio.fail_after(WAIT_S):
        await tether_app.host.source("tiny").call_tool("greet", {"name": "ada"})
    assert tether_app.host.statuses()["tiny"].state is SourceState.RUNNING
    body = (await page.get("/extensions")).text
    assert "running" in body
    assert "<code>greet</code>" in body
    assert "python server starting" in body
    assert (await page.get("/extensions/tiny/icon")).status_code == 404
