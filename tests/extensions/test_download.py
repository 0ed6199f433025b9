"""Bundle downloads: https anywhere, plain http only from this computer, checked before connecting."""

from __future__ import annotations

import pytest

from tether.errors import DownloadFailed
from tether.extensions.download import downloaded, url_problem

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/x.mcpb",
        "http://127.0.0.1:8000/x.mcpb",
        "http://localhost/x.mcpb",
        "http://[::1]/x",
    ],
)
def test_https_and_loopback_http_are_allowed(url: str) -> None:
    assert url_problem(url) is None


@pytest.mark.parametrize(
    "url",
    ["http://example.com/x.mcpb", "http://10.0.0.2/x.mcpb", "ftp://example.com/x", "file:///etc/passwd", "x"],
)
def test_other_urls_are_refused(url: str) -> None:
    assert url_problem(url) is not None


async def test_a_plain_http_download_from_elsewhere_fails_before_connecting() -> None:
    with pytest.raises(DownloadFailed, match="plain http"):
        async with downloaded("http://example.com/x.mcpb", max_bytes=1024):
            pytest.fail("nothing may be downloaded")
