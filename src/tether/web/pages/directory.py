"""The directory on Settings > Connectors: search the curated catalog and the MCP Registry, then
Connect a remote connector (added like a custom one, then OAuth in this browser), set up one
that needs your own URL or header, or Install an extension (downloaded, its sha256 checked,
and previewed like an upload).

Entries partly come from the network (the registry): their text is escaped like any other,
links are shown only when https, and the only thing the page sends back is an entry's id,
which is looked up again on the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from tether.connectors.directory import DirectoryEntry, EntryKind
from tether.connectors.entries import suggested_name
from tether.errors import UsageError
from tether.types import SourceConfig, SourceKind, SourceState
from tether.web.connector_form import ConnectorForm
from tether.web.context import Web, actor, read_form, text, web_of
from tether.web.pages.connectors import START_WAIT_S, start_sign_in
from tether.web.pages.extensions import preview_download

MAX_QUERY_CHARS = 200
RESULTS_LIMIT = 60
KIND_LABELS = {"connector": "Connector", "extension": "Extension"}
ORIGIN_LABELS = {"curated": "Curated", "registry": "MCP Registry"}
Action = Literal["connect", "setup", "install", "added"]


@dataclass(frozen=True, slots=True)
class EntryCard:
    id: str
    name: str
    description: str
    kind: str
    kind_label: str
    origin_label: str
    category: str
    version: str
    note: str
    docs_url: str
    """Only an https link, else ""."""
    action: Action
    added_as: str = ""
    """The connector already added with this entry's URL."""


async def results(request: Request) -> Response:
    """The entries matching the search box, the category and the kind, as cards."""
    web = web_of(request)
    params = request.query_params
    query = params.get("q", "").strip()[:MAX_QUERY_CHARS]
    directory = web.backend.directory()
    categories = directory.categories()
    category = params.get("category", "")
    category = category if category in categories else None
    kind_param = params.get("kind", "")
    kind: EntryKind | None = "connector" if kind_param == "connector" else None
    if kind_param == "extension":
        kind = "extension"
    found = await directory.search(query, category=category, kind=kind, limit=RESULTS_LIMIT)
    added = {_plain(c.url): c.name for c in await web.backend.store.list_sources() if c.url}
    cards = [_card(entry, added) for entry in found.entries]
    return web.fragment("_directory.html", {"result": found, "cards": cards, "query": query})


async def setup_form(request: Request) -> Response:
    """The "Add custom connector" form filled in from an entry that needs the user's own URL or
    headers (the page swaps it in for the empty form)."""
    web = web_of(request)
    entry = await _connector_entry(web, request.query_params.get("entry", ""))
    form = ConnectorForm(
        name=await _free_name(web, entry),
        url=entry.url or "",
        transport="sse" if entry.transport == "sse" else "http",
        notice=_setup_notice(entry),
        is_advanced_open=entry.auth == "header",
    )
    return web.fragment("_connector_form.html", {"form": form})


async def connect(request: Request) -> Response:
    """Add the entry as a connector, and sign in at once when it asks for it: the browser goes to
    the service's consent page and comes back to /oauth/callback, as with Connect on a card."""
    web = web_of(request)
    entry = await _connector_entry(web, text(await read_form(request), "entry"))
    if entry.url is None or entry.auth == "header":
        raise UsageError(f"{entry.name} needs {_needs(entry)}: press Set up and fill in the form")
    existing = {_plain(c.url): c for c in await web.backend.store.list_sources() if c.url}
    config = existing.get(_plain(entry.url))
    if config is None:
        config = SourceConfig(
            name=await _free_name(web, entry),
            kind=SourceKind.SSE if entry.transport == "sse" else SourceKind.HTTP,
            url=entry.url,
        )
        await web.backend.add_source(actor(request), config)
        with anyio.move_on_after(START_WAIT_S):
            await web.backend.start_sources([config.name])
    status = web.backend.host.statuses().get(config.name)
    if status is not None and status.state is SourceState.NEEDS_SIGN_IN:
        sign_in, flight = await start_sign_in(request, web, config)
        if sign_in.authorization_url and not flight.done.is_set():
            return HTMLResponse("", headers={"HX-Redirect": sign_in.authorization_url})
    query = urlencode({"added": config.name})
    return HTMLResponse("", headers={"HX-Redirect": f"/connectors?{query}#connector-{config.name}"})


async def install(request: Request) -> Response:
    """Download an extension entry's bundle, check its sha256, and show the install preview."""
    web = web_of(request)
    entry = await web.backend.directory().get(text(await read_form(request), "entry"))
    if entry.bundle_url is None or entry.bundle_sha256 is None:
        raise UsageError(f"{entry.name} is a remote connector, not an extension: press Connect")
    return await preview_download(web, entry.bundle_url, entry=entry)


def _card(entry: DirectoryEntry, added: dict[str, str]) -> EntryCard:
    added_as = added.get(_plain(entry.url), "") if entry.url else ""
    action: Action
    if entry.kind == "extension":
        action = "install"
    elif added_as:
        action = "added"
    elif entry.url is None or entry.auth == "header":
        action = "setup"
    else:
        action = "connect"
    return EntryCard(
        id=entry.id,
        name=entry.name,
        description=entry.description,
        kind=entry.kind,
        kind_label=KIND_LABELS.get(entry.kind, entry.kind),
        origin_label=ORIGIN_LABELS.get(entry.origin, entry.origin),
        category=entry.category,
        version=entry.version or "",
        note=entry.note or "",
        docs_url=entry.docs_url if entry.docs_url and entry.docs_url.startswith("https://") else "",
        action=action,
        added_as=added_as,
    )


async def _connector_entry(web: Web, entry_id: str) -> DirectoryEntry:
    entry = await web.backend.directory().get(entry_id)
    if entry.kind != "connector":
        raise UsageError(f"{entry.name} is a local extension, not a connector: press Install")
    return entry


async def _free_name(web: Web, entry: DirectoryEntry) -> str:
    """The entry's suggested connector name, with ``-2``, ``-3``... if it is taken."""
    base = suggested_name(entry.id)
    taken = {c.name for c in await web.backend.store.list_sources()}
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def _needs(entry: DirectoryEntry) -> str:
    if entry.url is None:
        return "your own URL"
    return "a header with your token"


def _setup_notice(entry: DirectoryEntry) -> str:
    said = f"{entry.name} from the directory needs {_needs(entry)}"
    return f"{said}: {entry.note}." if entry.note else f"{said}: fill it in below and press Add connector."


def _plain(url: str | None) -> str:
    return (url or "").rstrip("/").lower()
