"""``tether mcp`` (the gateway on stdio) and ``tether token`` (bearer tokens for ``/mcp``).

``tether mcp`` writes nothing to stdout but the protocol: every message for a person goes to
stderr. The MCP SDK is imported only by the commands that serve.
"""

from __future__ import annotations

from typing import Annotated

import anyio
import typer
from rich.table import Table

from tether.app import App, open_app
from tether.cli.runtime import console, err_console, run
from tether.cli.sources import ME
from tether.errors import UsageError

token_app = typer.Typer(
    help="Bearer tokens for the HTTP gateway (/mcp on `tether serve`).", no_args_is_help=True
)
RECONCILE_EVERY_S = 2.0


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp)
    app.add_typer(token_app, name="token")


def mcp(
    tool_search: Annotated[
        bool,
        typer.Option("--tool-search", help="Offer search_tools and call_tool instead of listing every tool."),
    ] = False,
) -> None:
    """Serve every enabled source as one MCP server on stdin/stdout, for a client's mcpServers.

    Calls run under tether's permissions as "gateway:stdio"; approvals are asked in the client
    when it can, else they wait for the web UI or `tether approvals approve`.
    """
    from tether.gateway.callers import stdio_caller
    from tether.gateway.server import Gateway
    from tether.gateway.stdio import serve_stdio

    async def main() -> None:
        async with open_app() as tether:
            ready = anyio.Event()
            gateway = Gateway(tether.host, caller=stdio_caller(uses_tool_search=tool_search), ready=ready)
            async with anyio.create_task_group() as tg:

                async def start() -> None:
                    await tether.start_sources()
                    ready.set()
                    await follow_config(tether)

                tg.start_soon(start)
                tg.start_soon(tether.watch_store)
                await serve_stdio(gateway)
                tg.cancel_scope.cancel()

    run(main)


async def follow_config(tether: App) -> None:
    """Start and stop sources as other tether processes enable, disable, add or remove them."""
    while True:
        await anyio.sleep(RECONCILE_EVERY_S)
        await tether.reconcile()


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option("--name", help="Who uses it, e.g. cursor-laptop.")],
    sources: Annotated[
        str | None, typer.Option("--sources", help="Comma-separated sources it reaches (default: all).")
    ] = None,
    tool_search: Annotated[
        bool, typer.Option("--tool-search", help="Offer search_tools and call_tool instead of every tool.")
    ] = False,
) -> None:
    """Create a token for /mcp and print it once on stdout (only its hash is kept)."""
    from tether.gateway.tokens import issue_token

    scope = [s.strip() for s in sources.split(",") if s.strip()] if sources is not None else None

    async def main() -> str:
        async with open_app() as tether:
            if scope is not None:
                known = {c.name for c in await tether.store.list_sources()}
                unknown = sorted(set(scope) - known)
                if unknown:
                    raise UsageError(f"no source named '{unknown[0]}': see `tether source list`")
            issued = await issue_token(
                tether.store, tether.host, ME, name, sources=scope, uses_tool_search=tool_search
            )
            return issued.secret

    secret = run(main)
    reach = ", ".join(scope) if scope is not None else "every source"
    err_console.print(
        f"token [bold]{name}[/] reaches {reach}. Copy it now: it is not shown again.", highlight=False
    )
    print(secret)


@token_app.command("list")
def token_list() -> None:
    """List the active tokens (never the tokens themselves)."""

    async def main() -> None:
        async with open_app() as tether:
            tokens = await tether.store.list_tokens()
        if not tokens:
            console.print("no tokens: create one with `tether token create --name NAME`")
            return
        table = Table("name", "sources", "tool search", "created")
        for token in tokens:
            table.add_row(
                token.name,
                ", ".join(token.sources) if token.sources is not None else "all",
                "yes" if token.uses_tool_search else "no",
                token.created_at.isoformat(timespec="seconds") if token.created_at else "",
            )
        console.print(table)

    run(main)


@token_app.command("revoke")
def token_revoke(name: Annotated[str, typer.Argument(help="The token's name.")]) -> None:
    """Revoke a token: /mcp refuses it from then on."""
    from tether.gateway.tokens import revoke_token

    async def main() -> None:
        async with open_app() as tether:
            await revoke_token(tether.store, tether.host, ME, name)
        console.print(f"revoked token [bold]{name}[/]")

    run(main)
