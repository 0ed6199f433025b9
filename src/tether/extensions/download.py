"""Fetch a bundle from an http(s) URL into a temporary file, bounded in size and time.

The file is then opened and checked like any local bundle; a download that fails, grows past
the bundle size limit or does not have the expected sha256 leaves no file behind. Nothing here
reads the bundle.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import anyio
import httpx2

from tether.errors import BundleHashMismatch, DownloadFailed

DOWNLOAD_TIMEOUT_S = 120.0
_CHUNK_BYTES = 256 * 1024
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_url(text: str) -> bool:
    return text.startswith(("https://", "http://"))


def url_problem(url: str) -> str | None:
    """Why tether will not download a bundle from ``url``, or None: https anywhere, plain http only
    from this computer (where nobody on the way can swap the file)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return f"'{url}' is not a URL: give the https:// address of an .mcpb file"
    if parts.scheme == "https" and host:
        return None
    if parts.scheme == "http" and host in _LOOPBACK_HOSTS:
        return None
    if parts.scheme == "http" and host:
        return (
            f"{url} is plain http: tether downloads bundles over https only "
            "(anyone on the way could swap the file)"
        )
    return f"'{url}' is not an https URL: give the https:// address of an .mcpb file"


@contextlib.asynccontextmanager
async def downloaded(
    url: str, *, max_bytes: int, timeout_s: float = DOWNLOAD_TIMEOUT_S, sha256: str | None = None
) -> AsyncGenerator[Path]:
    """Download ``url`` to a temporary ``.mcpb`` file that exists for the ``async with`` block.

    With ``sha256`` (hex), a download with another hash raises BundleHashMismatch before anyone
    reads it.
    """
    fd, name = tempfile.mkstemp(prefix="tether-download-", suffix=".mcpb")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = await _fetch(url, out, max_bytes=max_bytes, timeout_s=timeout_s)
        if sha256 is not None and digest != sha256.strip().lower():
            raise BundleHashMismatch(
                f"the file downloaded from {url} has sha256 {digest}, not the {sha256} its directory "
                "entry names: it was changed or replaced, so tether does not open it (nothing was installed)"
            )
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


async def _fetch(url: str, out: BinaryIO, *, max_bytes: int, timeout_s: float) -> str:
    """Write the body to ``out``; return its sha256 (hex)."""
    received = 0
    digest = hashlib.sha256()

    async def check_hop(request: httpx2.Request) -> None:
        """Every request, redirects included, obeys the https rule."""
        if (problem := url_problem(str(request.url))) is not None:
            raise DownloadFailed(f"cannot download {url}: {problem}")

    try:
        with anyio.fail_after(timeout_s):
            async with (
                httpx2.AsyncClient(
                    follow_redirects=True, timeout=30.0, event_hooks={"request": [check_hop]}
                ) as client,
                client.stream("GET", url) as response,
            ):
                if response.status_code != 200:
                    raise DownloadFailed(
                        f"cannot download {url}: the server answered {response.status_code} "
                        f"{response.reason_phrase}"
                    )
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise DownloadFailed(_too_big(url, max_bytes))
                async for chunk in response.aiter_bytes(_CHUNK_BYTES):
                    received += len(chunk)
                    if received > max_bytes:
                        raise DownloadFailed(_too_big(url, max_bytes))
                    digest.update(chunk)
                    out.write(chunk)
    except TimeoutError:
        raise DownloadFailed(f"cannot download {url}: no answer within {timeout_s:g} s") from None
    except httpx2.HTTPError as error:
        raise DownloadFailed(f"cannot download {url}: {error or type(error).__name__}") from error
    return digest.hexdigest()


def _too_big(url: str, max_bytes: int) -> str:
    return f"cannot download {url}: it is larger than the {max_bytes // (1024 * 1024)} MB bundle limit"
