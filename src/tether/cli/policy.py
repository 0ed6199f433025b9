"""``tether policy``: per-tool permissions, per-source "skip approvals", and the optional rules."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer
from rich.table import Table

from tether.app import open_app
from tether.cli.runtime import console, run
from tether.cli.sources import ME
from tether.cli.tools import known_tool
from tether.core.activity import SourceChanged
from tether.core.policy import RULES
from tether.types import Effect

policy_app = typer.Typer(
    help="Ask / Always allow / Block per tool, skip approvals per source, rules.", no_args_is_help=True
)
rule_app = typer.Typer(help="Optional rules that decide some calls for you.", no_args_is_help=True)
policy_app.add_typer(rule_app, name="rule")


@policy_app.command("set")
def policy_set(
    tool: Annotated[str, typer.Argument(help="SOURCE__TOOL")],
    effect: Annotated[Effect, typer.Argument(help="ask, allow or block")],
) -> None:
    """Set whether a tool asks, is always allowed, or is blocked."""

    async def main() -> None:
        async with open_app() as tether:
            hosted = await known_tool(tether, tool)
            await tether.host.set_policy(ME, hosted, effect)
        console.print(f"{tool}: {effect.value}")

    run(main)


@policy_app.command("show")
def policy_show(source: Annotated[str | None, typer.Option("--source", "-s")] = None) -> None:
    """Show the stored permission of every known tool, and what each source skips."""

    async def main() -> None:
        async with open_app() as tether:
            effects = await tether.store.all_effects()
            table = Table("tool", "permission")
            for config in await tether.store.list_sources():
                if source and config.name != source:
                    continue
                if config.skip_approvals:
                    table.add_row(f"{config.name} (every tool)", "[red]skips approvals[/]")
                for definition in await tether.store.known_tools(config.name):
                    effect = effects.get((config.name, definition.name))
                    table.add_row(
                        f"{config.name}__{definition.name}", effect.value if effect else "ask (new)"
                    )
            console.print(table)
            rules = await tether.host.rules()
            console.print(
                "rules on: " + (", ".join(rules) if rules else "none (see `tether policy rule list`)")
            )

    run(main)


@policy_app.command("skip-approvals")
def skip_approvals(
    source: Annotated[str, typer.Argument(help="The source whose tools should run without asking.")],
    state: Annotated[bool, typer.Argument(help="on or off", parser=lambda v: _on_off(v), metavar="on|off")],
) -> None:
    """Let every tool of a source run without asking (blocked tools stay blocked)."""

    async def main() -> None:
        async with open_app() as tether:
            config = await tether.store.get_source(source)
            if config.skip_approvals != state:
                await tether.store.update_source(dataclasses.replace(config, skip_approvals=state))
                tether.host.set_skip_approvals(source, skips=state)
                await tether.host.record(
                    SourceChanged(source=source, setting="skip_approvals", value=state), actor=ME
                )
        if state:
            console.print(
                f"[bold red]warning[/]: every tool of {source} now runs without asking, "
                "including tools it adds later. Blocked tools stay blocked."
            )
        else:
            console.print(f"{source}: tools ask again unless set to allow")

    run(main)


@rule_app.command("list")
def rule_list() -> None:
    """List the rules and whether each is on."""

    async def main() -> None:
        async with open_app() as tether:
            on = await tether.host.rules()
        table = Table("rule", "state", "what it does")
        for rule in RULES.values():
            table.add_row(rule.name, "[green]on[/]" if rule.name in on else "off", rule.summary)
        console.print(table)

    run(main)


@rule_app.command("on")
def rule_on(name: Annotated[str, typer.Argument(help=", ".join(RULES))]) -> None:
    """Turn a rule on."""
    run(lambda: _toggle(name, is_on=True))


@rule_app.command("off")
def rule_off(name: Annotated[str, typer.Argument(help=", ".join(RULES))]) -> None:
    """Turn a rule off."""
    run(lambda: _toggle(name, is_on=False))


async def _toggle(name: str, *, is_on: bool) -> None:
    async with open_app() as tether:
        await tether.host.set_rule(ME, name, is_on=is_on)
    console.print(f"{name}: {'on' if is_on else 'off'} — {RULES[name].summary}")


def _on_off(value: str) -> bool:
    if value.lower() in ("on", "yes", "true", "1"):
        return True
    if value.lower() in ("off", "no", "false", "0"):
        return False
    raise typer.BadParameter("use on or off")
