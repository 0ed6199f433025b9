"""``tether demo``: the reference tasks server, a real remote MCP server with its own OAuth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tether.cli.runtime import console, run

app = typer.Typer(help="Demos: servers to try tether's connectors against.", no_args_is_help=True)


@app.command("tasks-server")
def tasks_server(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8766,
    auth: Annotated[str, typer.Option(help="oauth, static (a bearer token) or none.")] = "oauth",
    token: Annotated[str | None, typer.Option(help="The bearer token for --auth static.")] = None,
    auto_approve: Annotated[
        str | None, typer.Option(help="Approve every sign-in as this user, without the consent page.")
    ] = None,
    data_file: Annotated[Path | None, typer.Option(help="Keep the tasks in this JSON file.")] = None,
    service_client: Annotated[
        list[str],
        typer.Option(
            help="ID:SECRET of a machine-to-machine client (client_credentials grant) acting as user ID."
        ),
    ] = [],  # noqa: B006
) -> None:
    """Serve projects, tasks and comments over Streamable HTTP, protected by OAuth 2.1."""
    import uvicorn

    from tether.demo.tasks_auth import Quirks
    from tether.demo.tasks_server import bind_loopback, build_tasks_server

    if auth not in ("oauth", "static", "none"):
        raise typer.BadParameter("oauth, static or none", param_hint="--auth")
    if auth == "static" and not token:
        raise typer.BadParameter("--auth static needs --token", param_hint="--token")
    services = [pair.split(":", 1) for pair in service_client]
    if any(len(pair) != 2 or not all(pair) for pair in services):
        raise typer.BadParameter("ID:SECRET, both not empty", param_hint="--service-client")

    async def main() -> None:
        sock = bind_loopback(port)
        base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = build_tasks_server(
            base_url,
            auth=auth,  # pyright: ignore[reportArgumentType]
            quirks=Quirks(auto_approve_user=auto_approve),
            static_token=token,
            data_file=data_file,
        )
        for client_id, secret in services:
            server.authority.register_service_client(client_id, secret)
        console.print(f"tasks server on [bold]{server.mcp_url}[/] (auth: {auth}); Ctrl-C to stop")
        console.print(f"add it with: tether connector add tasks {server.mcp_url}", highlight=False)
        await uvicorn.Server(uvicorn.Config(server.app, log_level="warning")).serve(sockets=[sock])

    run(main)
