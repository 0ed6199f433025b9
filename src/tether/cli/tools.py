"""``tether tools``, ``tether call`` and ``tether policy``: see tools, call one, set what is allowed."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from tether.app import App, open_app
from tether.cli.approver import PromptApprover, WaitingNotice
from tether.cli.runtime import console, err_console, run
from tether.cli.sources import ME
from tether.core.tools import split_qualified
from tether.errors import SourceError, UnknownTool, UsageError
from tether.types import Effect, HostedTool

policy_app = typer.Typer(help="Ask / Always allow / Block, per tool.", no_args_is_help=True)


async def _start_for(tether: App, name: str | None) -> None:
    """Start only the source a qualified name points at; everything for a bare name."""
    parts = split_qualified(name) if name else None
    if parts and parts[0] in {c.name for c in await tether.store.list_sources()}:
        await tether.start_sources([parts[0]])
    else:
        await tether.start_sources()


def list_tools(
    source: Annotated[str | None, typer.Option("--source", "-s", help="Only this source's tools.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the tools of every enabled source with their permission."""

    async def main() -> None:
        async with open_app() as tether:
            await tether.start_sources([source] if source else None)
            tools = await tether.host.tools(source=source)
            effects = await tether.store.all_effects()
            if as_json:
                print(json.dumps([_tool_json(t, effects) for t in tools], indent=2))
                return
            table = Table("tool", "permission", "hints", "description")
            for tool in tools:
                effect = effects.get((tool.source, tool.name))
                table.add_row(
                    tool.qualified_name,
                    effect.value if effect else "ask (new)",
                    _hints(tool),
                    tool.definition.description.strip().split("\n")[0][:80],
                )
            console.print(table)
            for name, status in tether.host.statuses().items():
                if status.state.value != "running":
                    console.print(f"[yellow]{name}[/]: {status.state.value} {status.detail}")

    run(main)


def call(
    tool: Annotated[str, typer.Argument(help="SOURCE__TOOL, or a tool name only one source has.")],
    args: Annotated[str, typer.Option("--args", "-a", help="Arguments as a JSON object.")] = "{}",
    prompt: Annotated[
        bool | None,
        typer.Option("--prompt/--no-prompt", help="Ask for approval here (default: when on a terminal)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole result as JSON.")] = False,
) -> None:
    """Call a tool through tether's policy, approval and activity log."""
    try:
        arguments = json.loads(args)
    except json.JSONDecodeError as error:
        raise typer.BadParameter(f"not valid JSON: {error.msg}", param_hint="--args") from None
    if not isinstance(arguments, dict):
        raise typer.BadParameter("must be a JSON object", param_hint="--args")
    asks_here = sys.stdin.isatty() if prompt is None else prompt

    async def main() -> bool:
        approvers = [PromptApprover(console) if asks_here else WaitingNotice(err_console)]
        async with open_app(approvers=approvers) as tether:
            await _start_for(tether, tool)
            _explain_down_source(tether, tool)
            result = await tether.host.call_tool(ME, tool, arguments)  # pyright: ignore[reportUnknownArgumentType]
        if as_json:
            print(
                json.dumps(
                    {
                        "content": list(result.content),
                        "structuredContent": result.structured,
                        "isError": result.is_error,
                    },
                    indent=2,
                    default=str,
                )
            )
        elif result.structured is not None and not result.text:
            print(json.dumps(result.structured, indent=2))
        else:
            console.out(result.text, highlight=False)
        return result.is_error

    if run(main):
        raise typer.Exit(1)


def _explain_down_source(tether: App, tool: str) -> None:
    parts = split_qualified(tool)
    statuses = tether.host.statuses()
    if parts and parts[0] in statuses and statuses[parts[0]].state.value != "running":
        status = statuses[parts[0]]
        raise SourceError(f"source '{parts[0]}' is {status.state.value}: {status.detail}")


@policy_app.command("set")
def policy_set(
    tool: Annotated[str, typer.Argument(help="SOURCE__TOOL")],
    effect: Annotated[Effect, typer.Argument(help="ask, allow or block")],
) -> None:
    """Set whether a tool asks, is always allowed, or is blocked."""

    async def main() -> None:
        async with open_app() as tether:
            hosted = await _known_tool(tether, tool)
            await tether.host.set_policy(ME, hosted, effect)
        console.print(f"{tool}: {effect.value}")

    run(main)


@policy_app.command("show")
def policy_show(source: Annotated[str | None, typer.Option("--source", "-s")] = None) -> None:
    """Show the permission of every known tool."""

    async def main() -> None:
        async with open_app() as tether:
            effects = await tether.store.all_effects()
            table = Table("tool", "permission")
            for config in await tether.store.list_sources():
                if source and config.name != source:
                    continue
                for definition in await tether.store.known_tools(config.name):
                    effect = effects.get((config.name, definition.name))
                    table.add_row(
                        f"{config.name}__{definition.name}", effect.value if effect else "ask (new)"
                    )
            console.print(table)

    run(main)


async def _known_tool(tether: App, name: str) -> HostedTool:
    """A tool from the stored catalog, refreshing it from the source when it is not there yet."""
    parts = split_qualified(name)
    if parts is None:
        raise UsageError(f"use the full SOURCE__TOOL name, e.g. notes__{name}")
    source, tool_name = parts
    await tether.store.get_source(source)
    for attempt in range(2):
        for definition in await tether.store.known_tools(source):
            if definition.name == tool_name:
                return HostedTool(name, source, definition)
        if attempt == 0:
            await tether.start_sources([source])
    raise UnknownTool(f"source '{source}' has no tool '{tool_name}': see `tether tools --source {source}`")


def _hints(tool: HostedTool) -> str:
    annotations = tool.definition.annotations
    return " ".join(
        h for h, on in (("read-only", annotations.read_only), ("destructive", annotations.destructive)) if on
    )


def _tool_json(tool: HostedTool, effects: dict[tuple[str, str], Effect]) -> dict[str, Any]:
    effect = effects.get((tool.source, tool.name))
    return {
        "name": tool.qualified_name,
        "source": tool.source,
        "tool": tool.name,
        "description": tool.definition.description,
        "inputSchema": dict(tool.definition.input_schema),
        "permission": effect.value if effect else None,
        "hints": _hints(tool).split(),
    }
