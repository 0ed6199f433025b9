"""A read-only client of the MCP Registry API, with an on-disk cache of its answers.

Sends only GETs (``/v0.1/servers`` with ``search``, ``cursor``, ``limit``; one server's latest
version), bounded in pages, bytes and time. An answer it cannot get or read becomes a
``Problem`` saying why, never an exception: the directory then falls back on the cache.
Records are kept raw in the cache so that a newer tether reads them with its own parser.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import quote

import anyio
import httpx2

API_PATH = "/v0.1/servers"
"""The registry's stable API version (``/v0`` is its development version with the same shape)."""
PAGE_SIZE_MAX = 100
MAX_PAGES = 5
MAX_ANSWER_BYTES = 8 * 1024 * 1024
TIMEOUT_S = 15.0

Record = Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Problem:
    """Why the registry gave no usable answer, as a clause: "it answered 500 Internal Server Error"."""

    reason: str


@dataclass(frozen=True, slots=True)
class Cached:
    records: tuple[Record, ...]
    fetched_at: float
    """Seconds since the epoch."""

    def age_s(self) -> float:
        return max(0.0, time.time() - self.fetched_at)


class RegistryClient:
    """Asks one registry; ``transport`` is the HTTP seam (None: the network)."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._transport = transport
        self._timeout_s = timeout_s

    async def search(
        self, text: str, *, wanted: int, is_usable: Callable[[Record], bool]
    ) -> tuple[Record, ...] | Problem:
        """Pages of ``/v0.1/servers`` (latest versions) until ``wanted`` records are usable, or
        MAX_PAGES pages were read."""
        records: list[Record] = []
        cursor: str | None = None
        params: dict[str, str] = {"limit": str(min(max(wanted, 1), PAGE_SIZE_MAX)), "version": "latest"}
        if text.strip():
            params["search"] = text.strip()
        async with self._client() as client:
            for _ in range(MAX_PAGES):
                query = {**params, "cursor": cursor} if cursor else params
                page = _page(await self._get_json(client, API_PATH, query))
                if isinstance(page, Problem):
                    return page
                servers, next_cursor = page
                records.extend(servers)
                if not next_cursor:
                    break
                if sum(1 for record in records if is_usable(record)) >= wanted:
                    break
                cursor = next_cursor
        return tuple(records)

    async def latest(self, name: str) -> Record | Problem | None:
        """The latest version of the server ``name``; None when the registry does not know it."""
        path = f"{API_PATH}/{quote(name, safe='')}/versions/latest"
        async with self._client() as client:
            answer = await self._get_json(client, path, {}, missing_ok=True)
        if answer is None or isinstance(answer, Problem):
            return answer
        return answer if isinstance(answer.get("server"), Mapping) else Problem("its answer has no 'server'")

    def _client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(
            base_url=self.base_url,
            transport=self._transport,
            timeout=self._timeout_s,
            follow_redirects=True,
            headers={"Accept": "application/json"},
        )

    async def _get_json(
        self, client: httpx2.AsyncClient, path: str, params: Mapping[str, str], *, missing_ok: bool = False
    ) -> Record | Problem | None:
        body = bytearray()
        try:
            with anyio.fail_after(self._timeout_s):
                async with client.stream("GET", path, params=dict(params)) as response:
                    if response.status_code == 404 and missing_ok:
                        return None
                    if response.status_code != 200:
                        status = f"{response.status_code} {response.reason_phrase}".rstrip()
                        return Problem(f"it answered {status}")
                    async for chunk in response.aiter_bytes():
                        body.extend(chunk)
                        if len(body) > MAX_ANSWER_BYTES:
                            return Problem(f"its answer is larger than {MAX_ANSWER_BYTES // 2**20} MB")
        except TimeoutError:
            return Problem(f"it did not answer within {self._timeout_s:g} s")
        except httpx2.HTTPError as error:
            return Problem(f"it cannot be reached ({str(error) or type(error).__name__})")
        try:
            document: object = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return Problem("its answer is not JSON")
        if not isinstance(document, Mapping):
            return Problem("its answer is not a JSON object")
        return cast(Record, document)


class RegistryCache:
    """Registry answers on disk, one JSON file per question, written atomically."""

    def __init__(self, directory: Path, base_url: str) -> None:
        self._dir = directory
        self._base = base_url.rstrip("/")

    def load_search(self, text: str, wanted: int) -> Cached | None:
        return self._load(self._path("search", f"{text.strip().lower()}\n{wanted}"))

    def save_search(self, text: str, wanted: int, records: tuple[Record, ...]) -> None:
        self._save(self._path("search", f"{text.strip().lower()}\n{wanted}"), records)

    def load_server(self, name: str) -> Cached | None:
        """The server's own answer, else the newest search answer that listed it."""
        own = self._load(self._path("server", name))
        if own is not None:
            return own
        found: Cached | None = None
        for path in self._dir.glob("search-*.json"):
            cached = self._load(path)
            if cached is None or (found is not None and cached.fetched_at <= found.fetched_at):
                continue
            hits = tuple(r for r in cached.records if _server_name(r) == name)
            if hits:
                found = Cached(hits[:1], cached.fetched_at)
        return found

    def save_server(self, name: str, record: Record) -> None:
        self._save(self._path("server", name), (record,))

    def _path(self, kind: str, key: str) -> Path:
        digest = hashlib.sha256(f"{self._base}\n{key}".encode()).hexdigest()[:32]
        return self._dir / f"{kind}-{digest}.json"

    def _load(self, path: Path) -> Cached | None:
        try:
            document: object = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return None
        if not isinstance(document, Mapping):
            return None
        fields = cast(Record, document)
        records, fetched_at = fields.get("records"), fields.get("fetched_at")
        if fields.get("base_url") != self._base or not isinstance(records, list):
            return None
        if not isinstance(fetched_at, int | float):
            return None
        kept = tuple(cast(Record, r) for r in cast(list[object], records) if isinstance(r, Mapping))
        return Cached(kept, float(fetched_at))

    def _save(self, path: Path, records: tuple[Record, ...]) -> None:
        document = {"base_url": self._base, "fetched_at": time.time(), "records": list(records)}
        # A cache that cannot be written only costs a later offline search its fallback.
        with contextlib.suppress(OSError):
            self._dir.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self._dir, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(document, out)
                os.replace(temporary, path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)


def _page(answer: Record | Problem | None) -> tuple[list[Record], str | None] | Problem:
    """The servers of one ``ServerList`` page and its next cursor."""
    if answer is None or isinstance(answer, Problem):
        return answer or Problem("it does not know the servers list")
    servers = answer.get("servers")
    if not isinstance(servers, list):
        return Problem("its answer has no 'servers' list")
    records = [cast(Record, s) for s in cast(list[object], servers) if isinstance(s, Mapping)]
    metadata = answer.get("metadata")
    cursor = cast(Record, metadata).get("nextCursor") if isinstance(metadata, Mapping) else None
    return records, cursor if isinstance(cursor, str) and cursor else None


def _server_name(record: Record) -> str | None:
    server = record.get("server")
    name = cast(Record, server).get("name") if isinstance(server, Mapping) else None
    return name if isinstance(name, str) else None
