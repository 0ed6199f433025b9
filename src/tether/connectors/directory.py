"""The directory: the catalog of installable extensions and connectors that tether shows.

Two origins merged into one list: the curated catalog shipped with tether (official remote MCP
URLs their vendors publish) and the public MCP Registry. Registry answers are cached on disk;
when the registry cannot be reached or answers garbage, the cache (however old) or the curated
catalog alone is used and the result says so. Installing is not done here: the app installs
an entry's bundle through the extension installer, or adds its URL as a connector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx2

from tether.connectors.entries import (
    CATEGORIES,
    DirectoryEntry,
    EntryKind,
    Origin,
    curated,
    entry_from_record,
    matches,
)
from tether.connectors.registry import Cached, Problem, Record, RegistryCache, RegistryClient
from tether.errors import UnknownDirectoryEntry

__all__ = [
    "CATEGORIES",
    "Directory",
    "DirectoryEntry",
    "DirectoryEntryNotFound",
    "EntryKind",
    "Origin",
    "SearchResult",
    "curated",
]

DirectoryEntryNotFound = UnknownDirectoryEntry
DEFAULT_CACHE_TTL_S = 3600.0


@dataclass(frozen=True)
class SearchResult:
    entries: tuple[DirectoryEntry, ...]
    offline: bool
    """True when the registry could not be used and cached or curated results stand in."""
    note: str | None
    """A sentence about where the results come from when that is not the plain case."""


class Directory:
    """Search and look up entries; ``http`` is the HTTP seam (None: the network)."""

    def __init__(
        self,
        *,
        registry_url: str | None,
        cache_dir: Path,
        http: httpx2.AsyncBaseTransport | None = None,
        cache_ttl_s: float = DEFAULT_CACHE_TTL_S,
    ) -> None:
        self.registry_url = registry_url.rstrip("/") if registry_url else None
        self._cache_ttl_s = cache_ttl_s
        self._client = RegistryClient(self.registry_url, transport=http) if self.registry_url else None
        self._cache = RegistryCache(cache_dir, self.registry_url) if self.registry_url else None

    def categories(self) -> list[str]:
        """The categories of the curated catalog, sorted."""
        return sorted({entry.category for entry in curated()})

    async def search(
        self,
        text: str = "",
        *,
        category: str | None = None,
        kind: EntryKind | None = None,
        limit: int = 50,
    ) -> SearchResult:
        """Curated entries matching every word of ``text`` first, then the registry's answer to it."""

        def wanted(entry: DirectoryEntry) -> bool:
            return (kind is None or entry.kind == kind) and (
                category is None or entry.category.lower() == category.lower()
            )

        found = [entry for entry in curated() if wanted(entry) and matches(entry, text)]
        known_ids = {entry.id for entry in found} | {entry.id for entry in curated()}
        known_urls = {_plain_url(entry.url) for entry in curated() if entry.url}
        if category is not None and category.strip():
            # Registry entries have no category: filtering by one leaves only curated entries.
            return SearchResult(tuple(found[:limit]), offline=False, note=None)
        records, offline, note = await self._registry_search(text, max(limit - len(found), 1), wanted)
        for record in records:
            entry = entry_from_record(record)
            if (
                entry is None
                or not wanted(entry)
                or entry.id in known_ids
                or (entry.url is not None and _plain_url(entry.url) in known_urls)
            ):
                continue
            known_ids.add(entry.id)
            found.append(entry)
        return SearchResult(tuple(found[:limit]), offline=offline, note=note)

    async def get(self, entry_id: str) -> DirectoryEntry:
        """The entry with this id: curated, else the registry's latest version (the cached one when
        the registry cannot be reached). Raises UnknownDirectoryEntry."""
        for entry in curated():
            if entry.id == entry_id:
                return entry
        if self._client is None or self._cache is None:
            raise UnknownDirectoryEntry(
                f"'{entry_id}' is not in the curated catalog (the MCP Registry is turned off): "
                "see `tether directory search`"
            )
        answer = await self._client.latest(entry_id)
        if isinstance(answer, Problem):
            cached = self._cache.load_server(entry_id)
            entry = _first_entry(cached.records) if cached is not None else None
            if entry is None:
                raise UnknownDirectoryEntry(
                    f"'{entry_id}' is not in the curated catalog, and the MCP Registry at "
                    f"{self.registry_url} gave no answer ({answer.reason}) nor is it in the cache: "
                    "try again when the registry can be reached"
                )
            return entry
        entry = entry_from_record(answer) if answer is not None else None
        if answer is None or entry is None:
            raise UnknownDirectoryEntry(
                f"no directory entry '{entry_id}' tether can install: see `tether directory search`"
            )
        self._cache.save_server(entry_id, answer)
        return entry

    async def _registry_search(
        self, text: str, wanted: int, is_wanted: Callable[[DirectoryEntry], bool]
    ) -> tuple[tuple[Record, ...], bool, str | None]:
        """(records, offline, note) from the registry, a fresh cache, or a stale cache."""
        if self._client is None or self._cache is None:
            return (), False, "the MCP Registry is turned off (directory_registry_url): curated catalog only"
        cached = self._cache.load_search(text, wanted)
        if cached is not None and cached.age_s() < self._cache_ttl_s:
            return cached.records, False, None

        def is_usable(record: Record) -> bool:
            entry = entry_from_record(record)
            return entry is not None and is_wanted(entry)

        answer = await self._client.search(text, wanted=wanted, is_usable=is_usable)
        if not isinstance(answer, Problem):
            self._cache.save_search(text, wanted, answer)
            return answer, False, None
        where = f"the MCP Registry at {self.registry_url} gave no answer: {answer.reason}"
        if cached is not None:
            return cached.records, True, f"{where}; showing its results cached {_age(cached)}"
        return (), True, f"{where}; showing the curated catalog only"


def _first_entry(records: tuple[Record, ...]) -> DirectoryEntry | None:
    for record in records:
        entry = entry_from_record(record)
        if entry is not None:
            return entry
    return None


def _plain_url(url: str | None) -> str:
    return (url or "").rstrip("/").lower()


def _age(cached: Cached) -> str:
    minutes = int(cached.age_s() // 60)
    if minutes < 1:
        return "less than a minute ago"
    if minutes < 120:
        return f"{minutes} minutes ago"
    hours = minutes // 60
    return f"{hours} hours ago" if hours < 48 else f"{hours // 24} days ago"
