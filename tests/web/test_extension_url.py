"""Settings > Extensions > Install from a URL: the bundle is downloaded from 127.0.0.1 (real uvicorn)
and previewed like an upload; bad URLs, 404s, non-bundles and oversized files install nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.connectors.servers import serve_app
from tests.web.conftest import WAIT_S, Page
from tests.web.test_extensions import assert_nothing_installed, keyed_bundle
from tether.app import App
from tether.extensions.bundle import BundleLimits

pytestmark = pytest.mark.anyio


@dataclass
class Files:
    """A file server on 127.0.0.1: ``/big`` declares a body larger than the bundle limit."""

    base_url: str = ""
    files: dict[str, bytes] = field(default_factory=dict[str, bytes])
    requests: list[str] = field(default_factory=list[str])

    def app(self) -> ASGIApp:
        async def serve(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                return
            path: str = scope["path"]
            self.requests.append(path)
            if path == "/big":
                declared = str(BundleLimits().max_file_bytes + 1).encode()
                await send(
                    {"type": "http.response.start", "status": 200, "headers": [(b"content-length", declared)]}
                )
                while (await receive())["type"] != "http.disconnect":
                    pass
                return
            if path.startswith("/moved/"):
                target = path.removeprefix("/moved/").encode()
                await send({"type": "http.response.start", "status": 302, "headers": [(b"location", target)]})
                await send({"type": "http.response.body", "body": b""})
                return
            data = self.files.get(path)
            status = 200 if data is not None else 404
            await send({"type": "http.response.start", "status": status, "headers": []})
            await send({"type": "http.response.body", "body": data if data is not None else b"not found"})

        return serve


@pytest.fixture
async def files() -> AsyncGenerator[Files]:
    served = Files()

    def build(base_url: str) -> ASGIApp:
        served.base_url = base_url
        return served.app()

    async with serve_app(build):
        yield served


async def preview_url(page: Page, url: str) -> tuple[int, str]:
    with anyio.fail_after(WAIT_S):
        answer = await page.post("/extensions/preview-url", {"url": url})
    return answer.status_code, answer.text


async def test_the_extensions_page_offers_a_url_field(page: Page) -> None:
    body = (await page.get("/extensions")).text
    assert 'hx-post="/extensions/preview-url"' in body
    assert 'id="bundle-url"' in body


async def test_a_bundle_from_a_url_is_previewed_then_installed(
    tether_app: App, page: Page, files: Files, tmp_path: Path
) -> None:
    files.files["/keyed.mcpb"] = keyed_bundle(tmp_path)
    status, body = await preview_url(page, f"{files.base_url}/keyed.mcpb")
    assert status == 200, body
    assert "Keyed" in body
    await assert_nothing_installed(tether_app)
    upload_id = re.search(r'"upload_id": "([^"]+)"', body.replace("&#34;", '"'))
    assert upload_id is not None
    with anyio.fail_after(WAIT_S):
        answer = await page.post("/extensions/install", {"upload_id": upload_id.group(1)})
    assert answer.headers["hx-redirect"].startswith("/extensions?open=keyed")
    assert [e.id for e in await tether_app.store.list_extensions()] == ["keyed"]


async def test_cancel_forgets_a_downloaded_bundle(
    tether_app: App, page: Page, files: Files, tmp_path: Path
) -> None:
    files.files["/keyed.mcpb"] = keyed_bundle(tmp_path)
    _, body = await preview_url(page, f"{files.base_url}/keyed.mcpb")
    upload_id = re.search(r'"upload_id": "([^"]+)"', body.replace("&#34;", '"'))
    assert upload_id is not None
    await page.post("/extensions/cancel", {"upload_id": upload_id.group(1)})
    answer = await page.post("/extensions/install", {"upload_id": upload_id.group(1)})
    assert "This upload is gone" in answer.text
    await assert_nothing_installed(tether_app)


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/missing.mcpb", "download_failed"),
        ("/notes.txt", "invalid_bundle"),
        ("/big", "download_failed"),
    ],
)
async def test_a_404_a_non_bundle_or_an_oversized_file_installs_nothing(
    tether_app: App, page: Page, files: Files, path: str, code: str
) -> None:
    files.files["/notes.txt"] = b"just some text, not a bundle"
    status, body = await preview_url(page, files.base_url + path)
    assert status == 422
    assert f'data-problem="{code}"' in body
    assert "Not installed." in body
    await assert_nothing_installed(tether_app)


@pytest.mark.parametrize(
    "url", ["http://example.com/extension.mcpb", "ftp://example.com/x.mcpb", "not a url", "https://"]
)
async def test_a_url_that_is_not_https_is_refused_before_any_download(
    tether_app: App, page: Page, url: str
) -> None:
    status, body = await preview_url(page, url)
    assert status == 422
    assert 'data-problem="download_failed"' in body
    assert "https" in body
    await assert_nothing_installed(tether_app)


async def test_a_redirect_to_plain_http_elsewhere_is_refused(
    tether_app: App, page: Page, files: Files
) -> None:
    status, body = await preview_url(page, f"{files.base_url}/moved/http://example.com/x.mcpb")
    assert status == 422
    assert "plain http" in body
    await assert_nothing_installed(tether_app)


async def test_an_empty_url_says_what_to_type(page: Page) -> None:
    status, body = await preview_url(page, "")
    assert status == 422
    assert "https://" in body


async def test_a_url_preview_without_the_csrf_token_is_refused(
    tether_app: App, page: Page, files: Files, tmp_path: Path
) -> None:
    files.files["/keyed.mcpb"] = keyed_bundle(tmp_path)
    answer = await page.http.post(
        "/extensions/preview-url",
        data={"url": f"{files.base_url}/keyed.mcpb"},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 403
    assert files.requests == []
