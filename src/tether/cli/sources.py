"""``tether source``: add, list, remove, enable, disable local MCP servers and read their logs."""

from __future__ import annotations

import collections
import os
from typing import Annotated

import typer
from rich.table import Table

from tether.app import open_app
from tether.cli.runtime import console, run
from tether.errors import UsageError
from tether.types import Actor, SourceConfig, SourceKind

app = typer.Typer(
    help="Local MCP servers (commands tether starts and speaks MCP to over stdio).", no_args_is_help=True
)
ME = Actor("cli", os.environ.get("USER", ""))


def parse_pairs(pairs: list[str], option: str) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{option} takes KEY=VALUE, got '{pair}'")
        parsed[key] = value
    return parsed


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Name of the source; its tools become NAME__TOOL.")],
    command: Annotated[list[str], typer.Argument(help="The command and its arguments, after `--`.")],
    env: Annotated[
        list[str], typer.Option("--env", "-e", help="KEY=VALUE for the server (kept secret).")
    ] = [],  # noqa: B006
    cwd: Annotated[str | None, typer.Option(help="Working directory of the server.")] = None,
    timeout_s: Annotated[float, typer.Option("--timeout", help="Seconds a tool call may take.")] = 60.0,
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it without starting it.")] = False,
) -> None:
    """Add a local MCP server, e.g. `tether source add notes -- npx -y @acme/notes-mcp`."""

    async def main() -> None:
        config = SourceConfig(
            name=name,
            kind=SourceKind.STDIO,
            command=command[0],
            args=tuple(command[1:]),
            env=parse_pairs(env, "--env"),
            cwd=cwd,
            call_timeout_s=timeout_s,
            is_enabled=not disabled,
        )
        async with open_app() as tether:
            await tether.add_source(ME, config)
            if config.is_enabled:
                await tether.start_sources([name])
                status = tether.host.source(name).status
                tools = await tether.host.tools(source=name)
                console.print(
                    f"added [bold]{name}[/]: {status.state.value}, {len(tools)} tools"
                    + (f" ({status.detail})" if status.detail else "")
                )
            else:
                console.print(f"added [bold]{name}[/] (disabled)")

    run(main)


@app.command("list")
def list_sources(
    status: Annotated[
        bool, typer.Option("--status", help="Start the enabled sources and show how they run.")
    ] = False,
) -> None:
    """List configured sources."""

    async def main() -> None:
        async with open_app() as tether:
            configs = await tether.store.list_sources()
            if status:
                await tether.start_sources()
            live = tether.host.statuses()
            table = Table("name", "kind", "command / url", "enabled", *(["status"] if status else []))
            for config in configs:
                target = config.url or " ".join([config.command or "", *config.args])
                row = [config.name, config.kind.value, target, "yes" if config.is_enabled else "no"]
                if status:
                    state = live.get(config.name)
                    row.append(f"{state.state.value} {state.detail}".strip() if state else "-")
                table.add_row(*row)
            console.print(
                table if configs else "no sources yet: add one with `tether source add NAME -- CMD`"
            )

    run(main)


@app.command("remove")
def remove(name: str) -> None:
    """Remove a source and its secrets; its activity stays in the log."""

    async def main() -> None:
        async with open_app() as tether:
            await tether.remove_source(ME, name)
        console.print(f"removed {name}")

    run(main)


@app.command("enable")
def enable(name: str) -> None:
    """Enable a source: tether starts it."""
    run(lambda: _toggle(name, is_enabled=True))


@app.command("disable")
def disable(name: str) -> None:
    """Disable a source: tether stops it and keeps its settings."""
    run(lambda: _toggle(name, is_enabled=False))


async def _toggle(name: str, *, is_enabled: bool) -> None:
    async with open_app() as tether:
        await tether.set_enabled(ME, name, is_enabled=is_enabled)
    console.print(f"{name} {'enabled' if is_enabled else 'disabled'}")


@app.command("logs")
def logs(
    name: str,
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many of the last lines.")] = 50,
) -> None:
    """Show the last lines a local server wrote to stderr."""

    async def main() -> None:
        async with open_app() as tether:
            await tether.store.get_source(name)
            path = tether.settings.log_dir / f"{name}.log"
        if not path.exists():
            console.print(f"{name} has written nothing to stderr yet")
            return
        with path.open(encoding="utf-8", errors="replace") as file:
            for line in collections.deque(file, maxlen=lines):
                console.out(line.rstrip("\n"), highlight=False)

    run(main)
