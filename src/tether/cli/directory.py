"""``tether directory``: search the catalog of extensions and connectors (tether's curated list
and the MCP Registry) and show one entry; the helpers ``connector add --from-directory`` uses."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Table

from tether.app import App, open_directory
from tether.cli.runtime import console, run
from tether.config import load_settings
from tether.connectors.directory import DirectoryEntry, SearchResult
from tether.connectors.entries import suggested_name
from tether.errors import UsageError
from tether.types import SourceConfig, SourceKind

app = typer.Typer(
    help="The directory: extensions and connectors you can add (tether's curated list + the MCP Registry).",
    no_args_is_help=True,
)

KindChoice = Literal["connector", "extension"]


@app.command("search")
def search(
    text: Annotated[str, typer.Argument(help="Words to look for; none lists everything.")] = "",
    category: Annotated[
        str | None, typer.Option(help="Only this category of the curated list, e.g. Payments.")
    ] = None,
    kind: Annotated[
        KindChoice | None, typer.Option(help="Only connectors (remote) or extensions (local).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many results.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Search the directory; every result says whether it is a local extension or a remote connector."""

    async def main() -> SearchResult:
        directory = open_directory(load_settings())
        if category is not None and category.lower() not in {c.lower() for c in directory.categories()}:
            raise UsageError(
                f"no category '{category}': the categories are {', '.join(directory.categories())}"
            )
        return await directory.search(text, category=category, kind=kind, limit=limit)

    result = run(main)
    if as_json:
        entries = [dataclasses.asdict(entry) for entry in result.entries]
        print(json.dumps({"entries": entries, "offline": result.offline, "note": result.note}, indent=2))
        return
    if result.note:
        label = "[yellow]offline[/]" if result.offline else "[dim]note[/]"
        console.print(f"{label}: {escape(result.note)}", highlight=False, soft_wrap=True)
    if not result.entries:
        console.print("nothing found" + (f" for '{text}'" if text else ""))
        return
    table = Table("id", "name", "kind", "from", "category", "auth", "description")
    for entry in result.entries:
        # Registry text is not tether's: shown as typed, never read as Rich markup.
        table.add_row(
            escape(entry.id),
            escape(entry.name),
            "extension (local)" if entry.kind == "extension" else "connector (remote)",
            entry.origin,
            escape(entry.category),
            escape(entry.auth),
            escape(entry.description),
        )
    console.print(table)
    console.print(
        "add one with `tether connector add --from-directory ID` (connectors) "
        "or `tether ext install --from-directory ID` (extensions)",
        highlight=False,
    )


@app.command("show")
def show(
    entry_id: Annotated[str, typer.Argument(metavar="ID", help="An id from `tether directory search`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one entry: its URL or bundle, sign-in, documentation, and how to add it."""
    entry = run(lambda: open_directory(load_settings()).get(entry_id))
    if as_json:
        print(json.dumps(dataclasses.asdict(entry), indent=2))
        return
    rows = [
        ("name", entry.name),
        ("kind", "extension (runs on this computer)" if entry.kind == "extension" else "connector (remote)"),
        ("from", "tether's curated list" if entry.origin == "curated" else "the MCP Registry"),
        ("category", entry.category),
        ("description", entry.description),
        ("url", entry.url or ("" if entry.kind == "extension" else "your own: the vendor gives it to you")),
        ("transport", entry.transport or ""),
        ("sign-in", entry.auth),
        ("version", entry.version or ""),
        ("bundle", entry.bundle_url or ""),
        ("sha256", entry.bundle_sha256 or ""),
        ("docs", entry.docs_url or ""),
        ("note", entry.note or ""),
    ]
    for label, value in rows:
        if value:
            console.print(f"[bold]{label}[/]: {escape(value)}", highlight=False, soft_wrap=True)
    if entry.kind == "extension":
        console.print(f"install it with `tether ext install --from-directory {entry.id}`", highlight=False)
    if entry.url is not None or entry.kind == "connector":
        console.print(f"add it with `tether connector add --from-directory {entry.id}`", highlight=False)


# -- connector add --from-directory ------------------------------------------------------------


async def connector_from_directory(
    tether: App, entry_id: str, name: str | None, url: str | None, config: SourceConfig
) -> tuple[SourceConfig, DirectoryEntry]:
    """``config`` with the name, URL and transport of the directory entry ``entry_id``.

    A URL given by the user is taken only for entries without one (each user's own URL).
    """
    entry = await tether.directory().get(entry_id)
    if entry.url is None and entry.transport is None:
        raise UsageError(
            f"'{entry_id}' is an extension, not a remote connector: "
            f"install it with `tether ext install --from-directory {entry_id}`"
        )
    if entry.url is None and url is None:
        why = entry.note or "each account has its own URL, which the vendor gives you"
        raise UsageError(
            f"'{entry_id}' has no fixed URL ({why}): pass the URL you got from the vendor, "
            f"`tether connector add --from-directory {entry_id} NAME URL`"
        )
    if entry.url is not None and url is not None and url.rstrip("/") != entry.url.rstrip("/"):
        raise UsageError(
            f"'{entry_id}' is reached at {entry.url}: leave the URL out, or add another URL as a "
            "custom connector with `tether connector add NAME URL`"
        )
    chosen = entry.url or url or ""
    if not chosen.startswith(("https://", "http://")):
        raise UsageError(f"'{chosen}' is not an http(s) URL: pass the server's MCP URL")
    kind = SourceKind.SSE if entry.transport == "sse" else SourceKind.HTTP
    return dataclasses.replace(config, name=name or suggested_name(entry.id), url=chosen, kind=kind), entry
