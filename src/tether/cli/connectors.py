"""``tether connector``: add remote MCP servers, sign in and out, see how each one is doing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import anyio
import typer
from rich.markup import escape
from rich.table import Table

from tether.app import App, open_app
from tether.cli.runtime import console, run
from tether.cli.sources import ME, parse_pairs
from tether.errors import SourceError, UsageError
from tether.types import SourceConfig, SourceKind, SourceState

if TYPE_CHECKING:
    from tether.connectors.vault import StoredClient

app = typer.Typer(help="Remote MCP servers (connectors): add, sign in, check.", no_args_is_help=True)

_STATE_STYLE = {
    SourceState.RUNNING: "[green]connected[/]",
    SourceState.NEEDS_SIGN_IN: "[yellow]needs sign-in[/]",
    SourceState.FAILED: "[red]error[/]",
    SourceState.RESTARTING: "[red]error[/] (retrying)",
    SourceState.STARTING: "connecting",
    SourceState.STOPPED: "stopped",
    SourceState.DISABLED: "disabled",
}


@app.command("add")
def add(
    name: Annotated[
        str | None, typer.Argument(help="Name of the connector; its tools become NAME__TOOL.")
    ] = None,
    url: Annotated[
        str | None, typer.Argument(help="The server's MCP URL, e.g. https://mcp.example.com/mcp")
    ] = None,
    from_directory: Annotated[
        str | None,
        typer.Option(
            "--from-directory",
            metavar="ID",
            help="A connector from `tether directory search`: its URL and transport come from there.",
        ),
    ] = None,
    transport: Annotated[
        SourceKind, typer.Option(help="http (Streamable HTTP, falls back to SSE) or sse.")
    ] = SourceKind.HTTP,
    header: Annotated[
        list[str], typer.Option("--header", "-H", help="K=V sent with every request (kept secret).")
    ] = [],  # noqa: B006
    headers_helper: Annotated[
        str | None, typer.Option(help="A command whose output (JSON or 'Name: value' lines) adds headers.")
    ] = None,
    client_id: Annotated[str | None, typer.Option(help="A client id registered with the service.")] = None,
    client_secret: Annotated[str | None, typer.Option(help="Its client secret (kept secret).")] = None,
    callback_port: Annotated[
        int | None, typer.Option(help="The 127.0.0.1 port of the redirect URI registered for --client-id.")
    ] = None,
    client_credentials: Annotated[
        bool,
        typer.Option(
            "--client-credentials",
            help="Machine-to-machine: get tokens with --client-id and its --client-secret or "
            "--private-key-file (OAuth client_credentials grant), no browser sign-in.",
        ),
    ] = False,
    private_key_file: Annotated[
        Path | None,
        typer.Option(
            help="PEM private key of the --client-credentials client (private_key_jwt; kept secret)."
        ),
    ] = None,
    signing_alg: Annotated[
        str | None, typer.Option(help="RS256 or ES256 (default: what the key signs with).")
    ] = None,
    timeout_s: Annotated[float, typer.Option("--timeout", help="Seconds a tool call may take.")] = 60.0,
) -> None:
    """Add a remote MCP server, then sign in with `tether connector login NAME` if it asks.

    `tether connector add --from-directory linear` adds one from the directory by its id.
    `--client-credentials` adds a machine-to-machine connector that needs no sign-in.
    """
    if transport is SourceKind.STDIO:
        raise typer.BadParameter("use http or sse", param_hint="--transport")
    if from_directory is None and (name is None or url is None):
        raise typer.BadParameter("give NAME and URL, or --from-directory ID", param_hint="NAME URL")
    if url is not None and not url.startswith(("https://", "http://")):
        raise typer.BadParameter("must be an http(s) URL", param_hint="URL")
    if client_secret and not client_id:
        raise typer.BadParameter("needs --client-id too", param_hint="--client-secret")
    if (private_key_file or signing_alg) and not client_credentials:
        raise typer.BadParameter("goes with --client-credentials", param_hint="--private-key-file")
    if client_credentials and callback_port is not None:
        raise typer.BadParameter(
            "a --client-credentials client has no redirect", param_hint="--callback-port"
        )
    helper = headers_helper.split() if headers_helper else []
    config = SourceConfig(
        name=name or "",
        kind=transport,
        url=url,
        command=helper[0] if helper else None,
        args=tuple(helper[1:]),
        call_timeout_s=timeout_s,
    )

    async def main() -> None:
        nonlocal config
        machine = (
            _machine_client(client_id, client_secret, private_key_file, signing_alg)
            if client_credentials
            else None
        )
        async with open_app() as tether:
            entry = None
            if from_directory is not None:
                from tether.cli.directory import connector_from_directory

                config, entry = await connector_from_directory(tether, from_directory, name, url, config)
            await tether.add_source(ME, config)
            vault = tether.connector_vault(config)
            vault.save_headers(parse_pairs(header, "--header"))
            if machine is not None:
                vault.save_client(machine)
            elif client_id:
                _save_client(tether, config, client_id, client_secret, callback_port)
            await tether.start_sources([config.name])
            _print_status(tether, config.name, added=True)
            if entry is not None and entry.note and not header:
                # Registry text is anyone's: shown as text, never as Rich markup.
                console.print(f"[yellow]note[/]: {escape(entry.note)}", highlight=False, soft_wrap=True)

    run(main)


def _machine_client(
    client_id: str | None, client_secret: str | None, key_file: Path | None, signing_alg: str | None
) -> StoredClient:
    from tether.connectors.machine import machine_client

    key = _read_key(key_file) if key_file is not None else None
    return machine_client(
        client_id or "", client_secret=client_secret, private_key_pem=key, signing_alg=signing_alg
    )


def _read_key(key_file: Path) -> str:
    try:
        return key_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not a text PEM file"
        raise UsageError(f"cannot read the private key file {key_file}: {reason}") from None


def _save_client(
    tether: App, config: SourceConfig, client_id: str, client_secret: str | None, port: int | None
) -> None:
    from mcp.shared.auth import OAuthClientInformationFull

    from tether.connectors.vault import StoredClient

    info = OAuthClientInformationFull(
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method="client_secret_post" if client_secret else "none",
    )
    tether.connector_vault(config).save_client(
        StoredClient(info=info, is_pre_registered=True, callback_port=port)
    )


@app.command("edit")
def edit(
    name: Annotated[str, typer.Argument(help="The connector to change (its name stays).")],
    url: Annotated[str | None, typer.Option(help="A new MCP URL; the old sign-in is dropped.")] = None,
    transport: Annotated[SourceKind | None, typer.Option(help="http or sse.")] = None,
    timeout_s: Annotated[
        float | None, typer.Option("--timeout", help="Seconds a tool call may take.")
    ] = None,
    header: Annotated[
        list[str], typer.Option("--header", "-H", help="K=V; replaces every saved header (kept secret).")
    ] = [],  # noqa: B006
    clear_headers: Annotated[bool, typer.Option("--clear-headers", help="Remove the saved headers.")] = False,
    client_id: Annotated[
        str | None, typer.Option(help="A client id registered with the service; '' registers automatically.")
    ] = None,
    client_secret: Annotated[str | None, typer.Option(help="Its client secret (kept secret).")] = None,
    clear_client_secret: Annotated[
        bool, typer.Option("--clear-client-secret", help="Remove the saved client secret.")
    ] = False,
    private_key_file: Annotated[
        Path | None,
        typer.Option(
            help="A new PEM private key for a --client-credentials connector (replaces its secret)."
        ),
    ] = None,
    signing_alg: Annotated[str | None, typer.Option(help="RS256 or ES256, for the private key.")] = None,
) -> None:
    """Change a connector's URL, transport, timeout, headers or OAuth client; the rest stays."""
    from tether.connectors.editing import ConnectorChange

    if transport is SourceKind.STDIO:
        raise typer.BadParameter("use http or sse", param_hint="--transport")
    if header and clear_headers:
        raise typer.BadParameter("give --header or --clear-headers, not both", param_hint="--clear-headers")

    def change_of() -> ConnectorChange:
        return ConnectorChange(
            url=url,
            kind=transport,
            call_timeout_s=timeout_s,
            headers=parse_pairs(header, "--header") if header else ({} if clear_headers else None),
            client_id=client_id,
            client_secret=client_secret,
            clear_client_secret=clear_client_secret,
            private_key_pem=_read_key(private_key_file) if private_key_file is not None else None,
            signing_alg=signing_alg,
        )

    async def main() -> None:
        async with open_app() as tether:
            await _connector(tether, name)
            edited = await tether.edit_connector(ME, name, change_of())
            if not edited.changed:
                console.print(f"{name}: nothing changed")
                return
            console.print(f"{name}: changed " + ", ".join(c.replace("_", " ") for c in edited.changed))
            if edited.signed_out:
                console.print(
                    f"[yellow]signed out[/]: {edited.signed_out}; run `tether connector login {name}`",
                    highlight=False,
                )
            if edited.headers_dropped:
                console.print(
                    f"[yellow]headers dropped[/]: {edited.headers_dropped} "
                    f"(`tether connector edit {name} --header K=V`)",
                    highlight=False,
                )

    run(main)


@app.command("login")
def login(name: str) -> None:
    """Sign in: opens the browser (or prints the URL) and waits for it to come back to 127.0.0.1."""

    async def main() -> None:
        from tether.connectors.events import ConnectorSignedIn
        from tether.connectors.login import sign_in
        from tether.connectors.signin import browser_presenter

        async with open_app() as tether:
            config = await _connector(tether, name)
            present = browser_presenter(lambda text: console.print(text, highlight=False, soft_wrap=True))
            result = await sign_in(
                tether.connector_vault(config),
                present,
                guard=tether.network_guard(config),
                client_metadata_url=tether.client_metadata_url,
            )
            if not result.is_needed:
                console.print(f"{name} lets tether in without signing in")
                return
            await tether.host.record(ConnectorSignedIn(source=name, scope=result.scope), actor=ME)
            console.print(
                f"[green]signed in[/] to {name}" + (f" (scope: {result.scope})" if result.scope else "")
            )
            await tether.start_sources([name])
            _print_status(tether, name)

    run(main)


@app.command("logout")
def logout(name: str) -> None:
    """Sign out: revoke the tokens where the server supports it, and forget them."""

    async def main() -> None:
        from tether.connectors.events import ConnectorSignedOut
        from tether.connectors.login import Revocation, sign_out

        async with open_app() as tether:
            config = await _connector(tether, name)
            outcome = await sign_out(tether.connector_vault(config), guard=tether.network_guard(config))
            await tether.host.record(ConnectorSignedOut(source=name, revocation=outcome.value), actor=ME)
        said = {
            Revocation.REVOKED: "signed out; the server revoked the tokens",
            Revocation.UNSUPPORTED: "signed out; the server cannot revoke, so tether forgot the tokens",
            Revocation.FAILED: "signed out; the server did not confirm revoking, tether forgot the tokens",
            Revocation.NOTHING: "was not signed in",
        }
        console.print(f"{name}: {said[outcome]}")

    run(main)


@app.command("list")
def list_connectors() -> None:
    """Every connector with its status: connected, needs sign-in, or error and why."""

    async def main() -> None:
        async with open_app() as tether:
            configs = [c for c in await tether.store.list_sources() if c.kind is not SourceKind.STDIO]
            if not configs:
                console.print("no connectors yet: add one with `tether connector add NAME URL`")
                return
            with anyio.move_on_after(tether.settings.start_timeout_s):
                await tether.start_sources([c.name for c in configs if c.is_enabled])
            table = Table("name", "url", "transport", "status", "details")
            statuses = tether.host.statuses()
            for config in configs:
                status = statuses.get(config.name)
                state = _STATE_STYLE.get(status.state, status.state.value) if status else "disabled"
                # The URL and the detail (which may quote a server's own words) are text, not markup.
                detail = escape(status.detail) if status else ""
                table.add_row(config.name, escape(config.url or ""), config.kind.value, state, detail)
            console.print(table)

    run(main)


@app.command("test")
def test(name: str) -> None:
    """Connect now and say what happens: the status, the transport, the tools it offers."""

    async def main() -> None:
        async with open_app() as tether:
            await _connector(tether, name)
            await tether.start_sources([name])
            _print_status(tether, name)
            status = tether.host.source(name).status
            if status.state is not SourceState.RUNNING:
                source = tether.host.source(name)
                error = getattr(source, "last_error", None)
                raise error if isinstance(error, SourceError) else SourceError(f"{name}: {status.detail}")

    run(main)


@app.command("remove")
def remove(name: str) -> None:
    """Remove a connector and forget its tokens, registration and headers (its activity stays)."""

    async def main() -> None:
        async with open_app() as tether:
            await _connector(tether, name)
            await tether.remove_source(ME, name)
        console.print(f"removed {name}")

    run(main)


async def _connector(tether: App, name: str) -> SourceConfig:
    config = await tether.store.get_source(name)
    if config.kind is SourceKind.STDIO:
        raise UsageError(f"'{name}' is a local server, not a connector: see `tether source`")
    return config


def _print_status(tether: App, name: str, *, added: bool = False) -> None:
    status = tether.host.source(name).status
    state = _STATE_STYLE.get(status.state, status.state.value)
    prefix = f"added [bold]{name}[/]: " if added else f"[bold]{name}[/]: "
    detail = f" — {escape(status.detail)}" if status.detail else ""
    console.print(f"{prefix}{state}{detail}", highlight=False)
