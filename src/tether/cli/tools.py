"""``tether tools`` (list, diff, review) and ``tether call``: see tools and call one."""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Annotated, Any

import typer
from rich.syntax import Syntax
from rich.table import Table

from tether.app import App, open_app
from tether.cli.approver import PromptApprover, WaitingNotice
from tether.cli.runtime import console, err_console, run
from tether.cli.sources import ME
from tether.core.tools import split_qualified
from tether.errors import SourceError, UnknownTool, UsageError
from tether.types import Decision, HostedTool

tools_app = typer.Typer(help="The tools of every enabled source, with their permission.")


async def start_for(tether: App, name: str | None) -> None:
    """Start only the source a qualified name points at; everything for a bare name."""
    parts = split_qualified(name) if name else None
    if parts and parts[0] in {c.name for c in await tether.store.list_sources()}:
        await tether.start_sources([parts[0]])
    else:
        await tether.start_sources()


@tools_app.callback(invoke_without_command=True)
def list_tools(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option("--source", "-s", help="Only this source's tools.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the tools of every enabled source with the permission a call would get now."""
    if ctx.invoked_subcommand is not None:
        return

    async def main() -> None:
        async with open_app() as tether:
            await tether.start_sources([source] if source else None)
            everything = await tether.host.tools()
            shadowed = {name for name, count in Counter(t.name for t in everything).items() if count > 1}
            tools = [t for t in everything if source is None or t.source == source]
            decisions = [await tether.host.decide(t) for t in tools]
            if as_json:
                print(
                    json.dumps(
                        [_tool_json(t, d, t.name in shadowed) for t, d in zip(tools, decisions, strict=True)],
                        indent=2,
                    )
                )
                return
            table = Table("tool", "permission", "why", "hints", "description")
            for tool, decision in zip(tools, decisions, strict=True):
                hints = _hints(tool) + (
                    ["[yellow]shadows another source's tool[/]"] if tool.name in shadowed else []
                )
                table.add_row(
                    tool.qualified_name,
                    _effect_text(decision),
                    decision.rule,
                    " ".join(hints),
                    tool.definition.description.strip().split("\n")[0][:70],
                )
            console.print(table)
            for name, status in tether.host.statuses().items():
                if status.state.value != "running":
                    console.print(f"[yellow]{name}[/]: {status.state.value} {status.detail}")

    run(main)


@tools_app.command("diff")
def diff(tool: Annotated[str, typer.Argument(help="SOURCE__TOOL")]) -> None:
    """Show how a tool's definition changed since it was approved."""

    async def main() -> None:
        async with open_app() as tether:
            await start_for(tether, tool)
            hosted = await tether.host.resolve(tool)
            changes = await tether.host.definition_diff(hosted)
        if changes is None:
            console.print(f"{hosted.qualified_name} was never approved, so there is nothing to compare with")
        elif not changes:
            console.print(f"{hosted.qualified_name} is unchanged since it was approved")
        else:
            console.print(Syntax(changes, "diff"))
            console.print(f"accept it with `tether tools review {hosted.qualified_name}`")

    run(main)


@tools_app.command("review")
def review(tool: Annotated[str, typer.Argument(help="SOURCE__TOOL")]) -> None:
    """Accept a tool's current definition as reviewed; its permission applies again."""

    async def main() -> None:
        async with open_app() as tether:
            await start_for(tether, tool)
            hosted = await tether.host.resolve(tool)
            await tether.host.pin(ME, hosted)
        console.print(f"{hosted.qualified_name}: current definition accepted")

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
        arguments: object = json.loads(args)
    except json.JSONDecodeError as error:
        raise typer.BadParameter(f"not valid JSON: {error.msg}", param_hint="--args") from None
    if not isinstance(arguments, dict):
        raise typer.BadParameter("must be a JSON object", param_hint="--args")
    checked: dict[str, Any] = arguments  # pyright: ignore[reportUnknownVariableType]
    asks_here = sys.stdin.isatty() if prompt is None else prompt

    async def main() -> bool:
        approvers = [PromptApprover(console) if asks_here else WaitingNotice(err_console)]
        async with open_app(approvers=approvers) as tether:
            await start_for(tether, tool)
            _explain_down_source(tether, tool)
            result = await tether.host.call_tool(ME, tool, checked)
        if as_json:
            document = {
                "content": list(result.content),
                "structuredContent": result.structured,
                "isError": result.is_error,
            }
            print(json.dumps(document, indent=2, default=str))
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


async def known_tool(tether: App, name: str) -> HostedTool:
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


def _effect_text(decision: Decision) -> str:
    colour = {"allow": "green", "block": "red", "ask": "yellow"}[decision.effect.value]
    return f"[{colour}]{decision.effect.value}[/]"


def _hints(tool: HostedTool) -> list[str]:
    annotations = tool.definition.annotations
    return [
        h for h, on in (("read-only", annotations.read_only), ("destructive", annotations.destructive)) if on
    ]


def _tool_json(tool: HostedTool, decision: Decision, is_shadowing: bool) -> dict[str, Any]:
    return {
        "name": tool.qualified_name,
        "source": tool.source,
        "tool": tool.name,
        "description": tool.definition.description,
        "inputSchema": dict(tool.definition.input_schema),
        "permission": decision.effect.value,
        "rule": decision.rule,
        "reason": decision.reason,
        "hints": _hints(tool),
        "shadows": is_shadowing,
    }
