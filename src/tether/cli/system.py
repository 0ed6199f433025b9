"""``tether serve``, ``doctor``, ``import``, ``export``, ``db upgrade`` and ``db password``."""

from __future__ import annotations

import getpass
import os
import platform
import shutil
import socket
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Annotated

import anyio
import typer
from rich.table import Table

from tether.app import DATABASE_PASSWORD_SECRET, open_app, store_location
from tether.cli.runtime import console, err_console, exit_code_for, run
from tether.cli.sources import ME
from tether.config import Settings, load_settings
from tether.errors import StoreError, UsageError
from tether.sandbox.launch import describe_isolation
from tether.store.db import describe_location, upgrade_database, url_has_password
from tether.store.secrets import open_secret_store

db_app = typer.Typer(help="The database.", no_args_is_help=True)
RECONCILE_EVERY_S = 2.0
WEB_SHUTDOWN_S = 3


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (default 8765).")] = None,
) -> None:
    """Start tether: every enabled source, the web UI and the HTTP gateway (/mcp) on 127.0.0.1."""
    import uvicorn

    from tether.gateway.http import GatewayHttp, with_gateway
    from tether.gateway.server import Gateway
    from tether.web.app import create_web_app, web_hosts
    from tether.web.security import Sessions

    async def main() -> None:
        async with open_app() as tether:
            bind_host = host or tether.settings.host
            bind_port = port if port is not None else tether.settings.port
            sock = _bind(bind_host, bind_port)
            installed, problems = await tether.install_builtins(ME)
            if installed:
                console.print(f"installed the built-in extensions: {', '.join(installed)}")
            for problem in problems:
                err_console.print(f"[yellow]warning[/]: {problem}", highlight=False)
            await tether.start_sources()
            for name, status in tether.host.statuses().items():
                console.print(f"  {name}: {status.state.value} {status.detail}".rstrip())
            gateway_http = GatewayHttp(
                Gateway(tether.host, caller=None), tether.store, extra_hosts=_extra_hosts(bind_host)
            )
            sessions = Sessions()
            web = create_web_app(
                tether,
                sessions=sessions,
                allowed_hosts=web_hosts(bind_host),
                is_stopping=lambda: server.should_exit,
            )
            server = uvicorn.Server(
                uvicorn.Config(
                    with_gateway(web, gateway_http),
                    log_level="warning",
                    lifespan="on",
                    server_header=False,
                    timeout_graceful_shutdown=WEB_SHUTDOWN_S,  # live pages hold SSE streams open
                )
            )
            shown = _url_host(bind_host)
            url = f"http://{shown}:{sock.getsockname()[1]}"
            console.print(f"tether is running at [bold]{url}/[/] (Ctrl-C to stop)")
            console.print(
                f"sign in to the web UI with this link (it works once): {url}/login?token="
                + sessions.issue_login_token(),
                soft_wrap=True,
                highlight=False,
            )
            async with gateway_http.running(), anyio.create_task_group() as tg:

                async def follow_config() -> None:
                    while True:
                        await anyio.sleep(RECONCILE_EVERY_S)
                        await tether.reconcile()

                tg.start_soon(follow_config)
                tg.start_soon(tether.watch_store)
                await server.serve(sockets=[sock])
                tg.cancel_scope.cancel()
        console.print("tether stopped")

    run(main)


def _url_host(bind_host: str) -> str:
    """Where a browser on this computer reaches the bind address."""
    if bind_host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{bind_host}]" if ":" in bind_host else bind_host


def _extra_hosts(bind_host: str) -> list[str]:
    """A non-local bind address is also a name clients may use in Host and Origin."""
    if bind_host in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "::"):
        return []
    return [f"[{bind_host}]" if ":" in bind_host else bind_host]


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say TCP,
    # and with Nagle on, every HTTP response that goes out in two writes waits ~40 ms for an ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise UsageError(
            f"cannot listen on {host}:{port} ({error.strerror}): "
            "stop what uses it or pick another one with --port"
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def doctor() -> None:
    """What is installed, what runs, what is missing."""

    async def main() -> None:
        settings = load_settings()
        table = Table("check", "state", show_header=False)
        table.add_row("tether", version("tether"))
        table.add_row("python", f"{platform.python_version()} ({sys.executable})")
        table.add_row("data dir", str(settings.home))
        table.add_row("database", _database_shown(settings))
        table.add_row("events", _events_shown(settings))
        if _password_in_config_file(settings):
            table.add_row(
                "database password",
                f"[yellow]in {settings.config_file}[/]: "
                "move it to TETHER_DATABASE_URL or `tether db password`",
            )
        table.add_row(
            "config file", f"{settings.config_file}" + ("" if settings.config_file.exists() else " (none)")
        )
        for tool in ("node", "npx", "uv", "bwrap"):
            found = shutil.which(tool)
            table.add_row(tool, found or "[yellow]not found[/]")
        table.add_row("sandbox", describe_isolation())
        try:
            await _doctor_app(settings, table)
        except StoreError as error:
            table.add_row("store", f"[red]cannot open[/]: {error}")
            console.print(table, highlight=False)
            raise typer.Exit(exit_code_for(error)) from None
        console.print(table)

    run(main)


async def _doctor_app(settings: Settings, table: Table) -> None:
    """The rows that need the store open: secrets, sources, the activity log."""
    async with open_app(settings) as tether:
        table.add_row("secrets", tether.secrets.description)
        configs = await tether.store.list_sources()
        await tether.start_sources()
        for config in configs:
            status = tether.host.statuses().get(config.name)
            state = (
                "disabled"
                if not config.is_enabled
                else (f"{status.state.value} {status.detail}".strip() if status else "not started")
            )
            table.add_row(f"source {config.name}", state)
        report = await tether.store.verify()
        table.add_row(
            "activity log",
            f"intact, {report.checked} rows"
            if report.is_intact
            else f"[red]broken at row {report.first_broken_seq}[/]: {report.problem}",
        )


def import_servers(
    file: Annotated[Path, typer.Argument(help="claude_desktop_config.json, .mcp.json or mcp.json")],
) -> None:
    """Import the mcpServers of Claude Desktop, Claude Code, Cursor or VS Code."""

    async def main() -> None:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot read {file}: {error.strerror}") from None
        async with open_app() as tether:
            report = await tether.import_servers(ME, text)
        for name in report.imported:
            console.print(f"[green]imported[/] {name}")
        for problem in report.problems:
            console.print(f"[yellow]not imported[/]: {problem}", highlight=False)
        if not report.imported and not report.problems:
            console.print("the file lists no servers")

    run(main)


def export_servers(
    file: Annotated[Path | None, typer.Argument(help="Write here instead of stdout.")] = None,
) -> None:
    """Write every source as an mcpServers JSON file (env values included: keep it private)."""

    async def main() -> None:
        async with open_app() as tether:
            text = await tether.export_servers()
        if file is None:
            sys.stdout.write(text)
            return
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        console.print(f"wrote {file}")

    run(main)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (tether also does this at start-up)."""

    async def main() -> None:
        settings = load_settings()
        location = store_location(settings, open_secret_store(settings.home, settings.secrets_backend))
        await upgrade_database(location)
        console.print(f"database {_database_shown(settings)} is up to date", highlight=False)

    run(main)


@db_app.command("password")
def db_password(
    clear: Annotated[bool, typer.Option("--clear", help="Forget the stored password.")] = False,
) -> None:
    """Keep the password of database_url in the secret store (read from the terminal or stdin)."""

    async def main() -> None:
        settings = load_settings()
        secrets = open_secret_store(settings.home, settings.secrets_backend)
        if clear:
            secrets.delete_secret(DATABASE_PASSWORD_SECRET)
            console.print("forgot the database password")
            return
        url = settings.database_url.strip()
        if not url:
            raise UsageError(
                "database_url is not set, so tether uses SQLite and needs no password: "
                "set TETHER_DATABASE_URL (or database_url in tether.toml) first"
            )
        if url_has_password(url):
            raise UsageError(
                "database_url has a password in it already, and that one would win: "
                "take it out of the URL, then run `tether db password` again"
            )
        password = getpass.getpass("database password: ") if sys.stdin.isatty() else sys.stdin.readline()
        password = password.rstrip("\r\n")
        if not password:
            raise UsageError("no password given: type it, or pipe it in on one line")
        secrets.set_secret(DATABASE_PASSWORD_SECRET, password)
        console.print(
            f"stored the password for {_database_shown(settings)} in the {secrets.description}",
            highlight=False,
        )

    run(main)


def _database_shown(settings: Settings) -> str:
    """The database as doctor and db commands name it: never with its password."""
    url = settings.database_url.strip()
    return f"{describe_location(url)} (PostgreSQL)" if url else f"{settings.database_path} (SQLite)"


def _events_shown(settings: Settings) -> str:
    """How this process hears what other tether processes do."""
    url = settings.redis_url.strip()
    if not url:
        return "from the database (every 0.5 s while tether serve runs)"
    from tether.store.relay import describe_redis_url  # only team mode loads redis

    return f"relayed at once over Redis {describe_redis_url(url)}"


def _password_in_config_file(settings: Settings) -> bool:
    """Whether tether.toml itself holds a database password (the env is the place for it)."""
    try:
        values = tomllib.loads(settings.config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    url = values.get("database_url")
    return isinstance(url, str) and url_has_password(url)
