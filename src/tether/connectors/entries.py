"""What the directory lists: entries of the curated catalog shipped in the package, and entries read
from MCP Registry records.

Pure data and parsing, no I/O beyond reading ``catalog.json`` from the package. A registry record
tether cannot use (no remote URL, no ``mcpb`` package, a bundle without a sha256, a URL that is
neither https nor loopback http) yields no entry rather than an error. Registry text loses its
control characters: it is shown on terminals, where an escape sequence would be obeyed.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Literal, cast
from urllib.parse import urlsplit

from tether.core.tools import check_source_name
from tether.errors import InvalidName

EntryKind = Literal["connector", "extension"]
"""A remote connector, or a local extension installed from an ``.mcpb`` bundle."""
Origin = Literal["curated", "registry"]

AUTH_KINDS = ("oauth", "none", "header", "unknown")
TRANSPORTS = ("streamable-http", "sse")
CATEGORIES = (
    "AI & data",
    "Automation",
    "Customer support",
    "Design",
    "Developer tools",
    "Documents & knowledge",
    "Payments",
    "Productivity",
    "Project management",
)
OFFICIAL_META = "io.modelcontextprotocol.registry/official"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SERVER_NAME = re.compile(r"^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$")
_CURATED_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


@dataclass(frozen=True)
class DirectoryEntry:
    id: str
    """Stable: ``linear`` (curated) or the registry server name ``io.github.owner/name``."""
    name: str
    description: str
    kind: EntryKind
    category: str
    """One of ``CATEGORIES`` for curated entries; "" when unknown (registry entries)."""
    origin: Origin
    url: str | None
    """The official remote MCP URL (connectors); None when each user has their own URL."""
    transport: str | None
    """``streamable-http``, ``sse`` or None."""
    auth: str
    """``oauth``, ``none``, ``header`` (a token sent as a header) or ``unknown``."""
    docs_url: str | None
    version: str | None
    bundle_url: str | None
    """Extensions: where the ``.mcpb`` bundle is downloaded from."""
    bundle_sha256: str | None
    """Extensions: the sha256 (hex) the download must have."""
    note: str | None = None
    """What the user must do besides adding it: get a token, copy their own URL..."""

    @property
    def is_installable(self) -> bool:
        return self.bundle_url is not None and self.bundle_sha256 is not None


def is_allowed_url(url: str) -> bool:
    """https anywhere; plain http only to this machine (a registry or server run locally)."""
    if _CONTROL.search(url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS)


def matches(entry: DirectoryEntry, words: str) -> bool:
    """Every word of ``words`` appears in the entry's id, name, description or category."""
    haystack = " ".join((entry.id, entry.name, entry.description, entry.category)).lower()
    return all(word in haystack for word in words.lower().split())


# -- the curated catalog --------------------------------------------------------------------


@functools.cache
def curated() -> tuple[DirectoryEntry, ...]:
    """The catalog shipped with tether (``catalog.json`` in this package), sorted by id."""
    text = resources.files("tether.connectors").joinpath("catalog.json").read_text(encoding="utf-8")
    return parse_catalog(json.loads(text))


def parse_catalog(document: object) -> tuple[DirectoryEntry, ...]:
    """Read and check the catalog; ValueError names the first entry that breaks a rule."""
    if not isinstance(document, Mapping):
        raise ValueError("the catalog must be a JSON object with 'entries'")
    raw_entries = cast(Mapping[str, object], document).get("entries")
    if not isinstance(raw_entries, list):
        raise ValueError("the catalog must have a list of 'entries'")
    entries = [_curated_entry(raw) for raw in cast(list[object], raw_entries)]
    ids = [entry.id for entry in entries]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"catalog ids must be unique: {', '.join(duplicates)}")
    return tuple(sorted(entries, key=lambda entry: entry.id))


def _curated_entry(raw: object) -> DirectoryEntry:
    if not isinstance(raw, Mapping):
        raise ValueError("each catalog entry must be a JSON object")
    fields = cast(Mapping[str, object], raw)
    entry_id = _text(fields, "id")
    if not _CURATED_ID.match(entry_id):
        raise ValueError(f"catalog id '{entry_id}' must be lowercase letters, digits and '-'")
    url = fields.get("url")
    if url is not None and not (isinstance(url, str) and url.startswith("https://") and is_allowed_url(url)):
        raise ValueError(f"catalog entry '{entry_id}': url must be https:// or null")
    note = fields.get("note")
    if url is None and not isinstance(note, str):
        raise ValueError(f"catalog entry '{entry_id}': an entry without a url needs a note saying where")
    docs_url = fields.get("docs_url")
    if not (isinstance(docs_url, str) and docs_url.startswith("https://")):
        raise ValueError(f"catalog entry '{entry_id}': docs_url must be https://")
    entry = DirectoryEntry(
        id=entry_id,
        name=_text(fields, "name"),
        description=_text(fields, "description"),
        kind="connector",
        category=_text(fields, "category"),
        origin="curated",
        url=url,
        transport=_text(fields, "transport"),
        auth=_text(fields, "auth"),
        docs_url=docs_url,
        version=None,
        bundle_url=None,
        bundle_sha256=None,
        note=note if isinstance(note, str) else None,
    )
    for value, allowed, label in (
        (entry.category, CATEGORIES, "category"),
        (entry.transport, TRANSPORTS, "transport"),
        (entry.auth, AUTH_KINDS, "auth"),
    ):
        if value not in allowed:
            raise ValueError(f"catalog entry '{entry_id}': {label} '{value}' is not one of {allowed}")
    return entry


def _text(fields: Mapping[str, object], key: str) -> str:
    value = fields.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"catalog entry {dict(fields).get('id', '?')!r}: '{key}' must be a non-empty string")
    return value


# -- MCP Registry records -------------------------------------------------------------------


def entry_from_record(record: object) -> DirectoryEntry | None:
    """An entry from one registry ``ServerResponse`` (``{"server": ..., "_meta": ...}``), or None
    when the record is not the latest active version or offers nothing tether can install."""
    if not isinstance(record, Mapping):
        return None
    fields = cast(Mapping[str, object], record)
    server = _mapping(fields.get("server"))
    official = _mapping(_mapping(fields.get("_meta")).get(OFFICIAL_META))
    if official.get("status") == "deleted" or official.get("isLatest") is False:
        return None
    name = server.get("name")
    if not isinstance(name, str) or not _SERVER_NAME.match(name):
        return None
    version = _optional_text(server.get("version"))
    bundle = _mcpb_package(server.get("packages"))
    remote = _remote(server.get("remotes"))
    if bundle is None and remote is None:
        return None
    url, transport, auth, note = remote if remote is not None else (None, None, "unknown", None)
    title = _optional_text(server.get("title")) or name.rsplit("/", 1)[-1]
    return DirectoryEntry(
        id=name,
        name=title,
        description=_optional_text(server.get("description")) or "",
        kind="extension" if bundle is not None else "connector",
        category="",
        origin="registry",
        url=url,
        transport=transport,
        auth=auth,
        docs_url=_docs_url(server),
        version=(bundle[2] or version) if bundle is not None else version,
        bundle_url=bundle[0] if bundle is not None else None,
        bundle_sha256=bundle[1] if bundle is not None else None,
        note=note,
    )


def _mcpb_package(raw: object) -> tuple[str, str, str | None] | None:
    """(url, sha256, version) of the first ``mcpb`` package with an allowed URL and a sha256."""
    for package in _mappings(raw):
        url = package.get("identifier")
        sha = package.get("fileSha256")
        if (
            package.get("registryType") == "mcpb"
            and isinstance(url, str)
            and is_allowed_url(url)
            and isinstance(sha, str)
            and _SHA256.match(sha.lower())
        ):
            return url, sha.lower(), _optional_text(package.get("version"))
    return None


def _remote(raw: object) -> tuple[str | None, str, str, str | None] | None:
    """(url or None for a template, transport, auth, note) of the first usable remote."""
    for remote in _mappings(raw):
        transport = remote.get("type")
        url = remote.get("url")
        if transport not in TRANSPORTS or not isinstance(url, str):
            continue
        required = [h.get("name") for h in _mappings(remote.get("headers")) if h.get("isRequired") is True]
        headers = [text for name in required if (text := _optional_text(name)) is not None]
        auth = "header" if headers else "unknown"
        note = f"it needs the header(s) {', '.join(headers)}: add them with --header" if headers else None
        if "{" in url:
            shown = _CONTROL.sub(" ", url)
            return None, str(transport), auth, f"its URL is a template ({shown}): pass your own URL"
        if is_allowed_url(url):
            return url, str(transport), auth, note
    return None


def _docs_url(server: Mapping[str, object]) -> str | None:
    for url in (server.get("websiteUrl"), _mapping(server.get("repository")).get("url")):
        if isinstance(url, str) and url.startswith("https://") and is_allowed_url(url):
            return url
    return None


def _mapping(value: object) -> Mapping[str, object]:
    return cast(Mapping[str, object], value) if isinstance(value, Mapping) else {}


def _mappings(value: object) -> list[Mapping[str, object]]:
    if not isinstance(value, list):
        return []
    return [
        cast(Mapping[str, object], item) for item in cast(list[object], value) if isinstance(item, Mapping)
    ]


def _optional_text(value: object) -> str | None:
    """A non-empty string with its control characters (escape sequences, newlines) made spaces."""
    text = _CONTROL.sub(" ", value).strip() if isinstance(value, str) else ""
    return text or None


def suggested_name(entry_id: str) -> str:
    """A source name for an entry: ``linear`` stays, ``io.github.acme/Weather`` -> ``weather``.

    At most 40 characters, leaving room for a ``-2`` when the name is taken.
    """
    last = entry_id.rsplit("/", 1)[-1].lower()
    name = re.sub(r"_{2,}", "_", re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9_-]+", "-", last)))
    name = name.strip("-_")[:40].strip("-_")
    try:
        return check_source_name(name)
    except InvalidName:
        return "connector"
