"""``tether ext``: install, list, inspect, configure, update and remove MCPB extensions; pack and
validate bundles.

Each command opens the app, does one thing through ``App.extensions()`` and prints what
happened; the rendering lives in ``ext_views`` and the settings form in ``ext_form``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.table import Table

from tether.app import open_app
from tether.cli import ext_form, ext_views
from tether.cli.runtime import console, run
from tether.cli.sources import ME
from tether.errors import UsageError
from tether.extensions.bundle import BundleLimits
from tether.extensions.download import downloaded, is_url
from tether.sandbox import describe_isolation

app = typer.Typer(
    help="Extensions: local MCP servers installed from .mcpb bundles (and older .dxt ones).",
    no_args_is_help=True,
)

_SET_HELP = "KEY=VALUE for a setting; repeat a key for a setting that takes several values."


def parse_sets(pairs: list[str]) -> dict[str, list[str]]:
    """``["dirs=/a", "dirs=/b", "key=x"]`` -> ``{"dirs": ["/a", "/b"], "key": ["x"]}``."""
    parsed: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set takes KEY=VALUE, got '{pair}'")
        parsed.setdefault(key.strip(), []).append(value)
    return parsed


def _local_bundle(source: str) -> Path | None:
    """The path of a local bundle (checked to exist); None for a URL."""
    if is_url(source):
        return None
    path = Path(source).expanduser()
    if not path.exists():
        raise UsageError(f"no file at {path}: give the path or the https:// URL of an .mcpb bundle")
    return path


@asynccontextmanager
async def _bundle_file(source: str, local: Path | None) -> AsyncGenerator[Path]:
    """A local path as it is; a URL downloaded to a temporary file for the block."""
    if local is not None:
        yield local
        return
    console.print(f"downloading {source}")
    async with downloaded(source, max_bytes=BundleLimits().max_file_bytes) as path:
        yield path


@app.command("install")
def install(
    bundle: Annotated[
        str | None, typer.Argument(help="Path or http(s) URL of an .mcpb (or .dxt) bundle.")
    ] = None,
    from_directory: Annotated[
        str | None,
        typer.Option(
            "--from-directory",
            metavar="ID",
            help="An extension from `tether directory search`; its download's sha256 is checked.",
        ),
    ] = None,
    settings: Annotated[list[str], typer.Option("--set", "-s", help=_SET_HELP)] = [],  # noqa: B006
    start: Annotated[
        bool, typer.Option("--start/--no-start", help="Start it once installed (when its settings allow).")
    ] = True,
) -> None:
    """Install an extension; it starts when its required settings are set. Every tool asks first."""
    texts = parse_sets(settings)
    if (bundle is None) == (from_directory is None):
        raise typer.BadParameter("give a BUNDLE or --from-directory ID (one of them)", param_hint="BUNDLE")

    async def main() -> None:
        if from_directory is not None:
            async with open_app() as tether:
                console.print(f"downloading {from_directory} from the directory")
                report = await tether.install_from_directory(ME, from_directory, settings=texts, start=start)
            ext_views.print_installed(report)
            return
        assert bundle is not None
        local = _local_bundle(bundle)
        async with _bundle_file(bundle, local) as path, open_app() as tether:
            report = await tether.extensions().install_bundle(ME, path, settings=texts, start=start)
        ext_views.print_installed(report)

    run(main)


@app.command("outdated")
def outdated(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Extensions installed from the directory that have a newer version there."""

    async def main() -> list[dict[str, str | None]]:
        from tether.app import is_newer

        async with open_app() as tether:
            found = await tether.directory_updates()
        rows: list[dict[str, str | None]] = []
        for extension, entry, problem in found:
            if problem is not None:
                console.print(f"[yellow]{extension.id}[/]: {problem}", highlight=False, soft_wrap=True)
            elif entry is not None and is_newer(entry.version, extension.version):
                rows.append(
                    {
                        "id": extension.id,
                        "installed": extension.version,
                        "available": entry.version,
                        "directory_id": entry.id,
                        "bundle_url": entry.bundle_url,
                    }
                )
        return rows

    rows = run(main)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print("every extension installed from the directory is up to date")
        return
    table = Table("id", "installed", "available", "directory id")
    for row in rows:
        table.add_row(row["id"], row["installed"], row["available"], row["directory_id"])
    console.print(table)
    console.print("update one with `tether ext update ID --from-directory`", highlight=False)


@app.command("update")
def update(
    first: Annotated[
        str, typer.Argument(metavar="[ID] BUNDLE", help="The bundle, or the id then the bundle.")
    ],
    second: Annotated[str | None, typer.Argument(hidden=True)] = None,
    from_directory: Annotated[
        bool,
        typer.Option(
            "--from-directory", help="ID only: update to the version of the directory entry it came from."
        ),
    ] = False,
) -> None:
    """Update an extension to the bundle's version, keeping its settings; the old one is put back
    if the new one does not start."""
    extension_id, bundle = (first, second) if second is not None else (None, first)
    if from_directory and second is not None:
        raise typer.BadParameter("with --from-directory, give only the extension's ID", param_hint="BUNDLE")

    async def main() -> None:
        if from_directory:
            async with open_app() as tether:
                report = await tether.update_from_directory(ME, first)
            ext_views.print_installed(report)
            return
        local = _local_bundle(bundle)
        async with _bundle_file(bundle, local) as path, open_app() as tether:
            report = await tether.extensions().update_bundle(ME, path, extension_id=extension_id)
        ext_views.print_installed(report)

    run(main)


@app.command("list")
def list_extensions(
    status: Annotated[bool, typer.Option("--status", help="Start them and show how they run.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List installed extensions."""

    async def main() -> None:
        async with open_app() as tether:
            if status:
                await tether.start_sources([e.id for e in await tether.store.list_extensions()])
            rows = await ext_views.extension_rows(tether)
        if as_json:
            print(json.dumps(rows, indent=2, default=str))
        else:
            ext_views.print_list(rows)

    run(main)


@app.command("info")
def info(
    extension_id: Annotated[str, typer.Argument(metavar="ID")],
    start: Annotated[
        bool, typer.Option("--start/--no-start", help="Start it to show its status and the tools it lists.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show an extension: manifest, signature, settings, declared and listed tools, status."""

    async def main() -> None:
        async with open_app() as tether:
            details = await ext_views.extension_details(tether, extension_id, start=start)
        if as_json:
            print(json.dumps(details, indent=2, default=str))
        else:
            ext_views.print_details(details)

    run(main)


@app.command("sandbox")
def sandbox(
    extension_id: Annotated[str, typer.Argument(metavar="ID")],
    network: Annotated[
        bool | None, typer.Option("--network/--no-network", help="Let the extension use the network.")
    ] = None,
    extra_path: Annotated[
        list[str] | None, typer.Option("--extra-path", help="Grant one more path, read-only (repeatable).")
    ] = None,
) -> None:
    """Show or change what an extension's sandbox allows: network, extra paths."""

    async def main() -> None:
        async with open_app() as tether:
            extension = await tether.store.get_extension(extension_id)
            if network is not None or extra_path is not None:
                await tether.set_sandbox_choice(
                    ME, extension_id, allow_network=network, extra_paths=extra_path
                )
            choice = await tether.sandbox_choice(extension_id)
            from tether.extensions.installed import needs_network

            allowed = choice.get("allow_network", needs_network(extension.manifest))
            extra: object = choice.get("extra_paths")
            shown = ", ".join(str(p) for p in cast(list[object], extra)) if isinstance(extra, list) else ""
            console.print(
                f"{extension_id}: network {'allowed' if allowed else 'off'}; extra paths: {shown or 'none'}"
            )
            console.print(f"isolation on this machine: {describe_isolation()}")

    run(main)


@app.command("config")
def config(
    extension_id: Annotated[str, typer.Argument(metavar="ID")],
    settings: Annotated[list[str], typer.Option("--set", "-s", help=_SET_HELP)] = [],  # noqa: B006
    unset: Annotated[list[str], typer.Option("--unset", help="Remove a setting's value.")] = [],  # noqa: B006
    prompt: Annotated[
        bool | None,
        typer.Option(
            "--prompt/--no-prompt", help="Ask for missing required settings (default: on a terminal)."
        ),
    ] = None,
    start: Annotated[bool, typer.Option("--start/--no-start", help="Start it when it can now run.")] = True,
) -> None:
    """Show or change an extension's settings; asks for the missing required ones on a terminal."""
    texts = parse_sets(settings)
    asks = (sys.stdin.isatty() and not texts and not unset) if prompt is None else prompt

    async def main() -> None:
        async with open_app() as tether:
            installer = tether.extensions()
            extension = await tether.store.get_extension(extension_id)
            if asks:
                texts.update(await ext_form.ask_missing(installer, extension, given=texts))
            if texts or unset:
                report = await installer.configure(ME, extension_id, texts, unset=unset, start=start)
                ext_views.print_configured(report)
            else:
                ext_views.print_settings(extension, installer.values(extension))

    run(main)


@app.command("enable")
def enable(extension_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Enable an extension: tether starts it."""
    run(lambda: _toggle(extension_id, is_enabled=True))


@app.command("disable")
def disable(extension_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Disable an extension: tether stops it and keeps its files and settings."""
    run(lambda: _toggle(extension_id, is_enabled=False))


async def _toggle(extension_id: str, *, is_enabled: bool) -> None:
    async with open_app() as tether:
        await tether.store.get_extension(extension_id)
        await tether.set_enabled(ME, extension_id, is_enabled=is_enabled)
    console.print(f"{extension_id} {'enabled' if is_enabled else 'disabled'}")


@app.command("remove")
def remove(extension_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Remove an extension: its files, data dir and secrets. Its activity stays in the log."""

    async def main() -> None:
        async with open_app() as tether:
            removed = await tether.extensions().remove_extension(ME, extension_id)
        console.print(f"removed {removed.id} {removed.version}")

    run(main)


@app.command("pack")
def pack(
    directory: Annotated[Path, typer.Argument(help="A folder with manifest.json at its top.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write the bundle (default: NAME.mcpb here)."),
    ] = None,
) -> None:
    """Pack a folder into an .mcpb bundle (like `mcpb pack`)."""

    async def main() -> None:
        from tether.extensions.pack import pack_bundle, validate_bundle

        data = pack_bundle(directory)
        report = validate_bundle(directory)
        target = output or Path.cwd() / f"{report.manifest.name}.mcpb"
        target.write_bytes(data)
        console.print(
            f"packed {report.manifest.title} {report.manifest.version} into {target} "
            f"({len(data) / 1024:.0f} KB, unsigned)"
        )
        for warning in report.warnings:
            console.print(f"[yellow]warning[/]: {warning}", highlight=False)

    run(main)


@app.command("validate")
def validate(path: Annotated[Path, typer.Argument(help="An .mcpb bundle, or a folder to pack.")]) -> None:
    """Check a bundle (or a folder) like the installer would, without installing it."""

    async def main() -> None:
        from tether.extensions.pack import validate_bundle

        report = validate_bundle(path)
        ext_views.print_validated(path, report)

    run(main)
