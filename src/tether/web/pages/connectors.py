"""Settings > Connectors: add a custom connector, see each one's status, connect (OAuth in the
browser), edit, disconnect, enable, remove, and the tools each one offers.

Connect runs ``connectors.login.sign_in_with`` with a ``WebSignIn``: the browser is sent to
the authorization page and comes back to ``/oauth/callback``; a connector that signs in as
this app (client credentials) gets its token with no browser. Headers, client secrets and
private keys go to the secret store and are never rendered back, not even into a form that failed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import urlencode

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from tether.connectors.editing import check_change
from tether.connectors.events import ConnectorSignedIn, ConnectorSignedOut
from tether.errors import SourceError, TetherError
from tether.types import Actor, SourceConfig, SourceKind, SourceState
from tether.web.catalog import Known, ToolLine
from tether.web.connector_edit import EditForm, differences, read_edit_form, stored_form
from tether.web.connector_form import (
    WEB_NAMES,
    ConnectorForm,
    parse_connector_form,
    posted_private_key,
    save_client,
)
from tether.web.context import Web, actor, read_form, web_of
from tether.web.signin import CALLBACK_PATH, FINISH_TIMEOUT_S, Flight, WebSignIn

START_WAIT_S = 10.0
STATE_LABELS = {
    SourceState.RUNNING: ("connected", "ok"),
    SourceState.NEEDS_SIGN_IN: ("needs sign-in", "warn"),
    SourceState.FAILED: ("error", "bad"),
    SourceState.RESTARTING: ("error, retrying", "bad"),
    SourceState.STARTING: ("connecting", "busy"),
    SourceState.STOPPED: ("stopped", "off"),
    SourceState.DISABLED: ("disabled", "off"),
    SourceState.NOT_CONNECTED: ("not connected", "warn"),
}
TRANSIENT = frozenset({SourceState.STARTING, SourceState.RESTARTING})
CHANGE_WORDS = {
    "url": "URL",
    "transport": "transport",
    "timeout": "call timeout",
    "headers": "headers",
    "oauth_client": "OAuth client",
}


@runtime_checkable
class Reconnects(Protocol):
    def reconnect(self) -> None: ...


@runtime_checkable
class Fails(Protocol):
    @property
    def last_error(self) -> TetherError | None: ...


@dataclass(frozen=True, slots=True)
class ConnectorCard:
    name: str
    url: str
    transport: str
    state: str
    tone: str
    detail: str
    is_enabled: bool
    is_signed_in: bool
    is_transient: bool
    tools: tuple[ToolLine, ...]
    notice: str = ""
    notice_tone: str = "ok"
    edit: EditForm | None = None
    error_code: str = ""
    """The stable code of why it failed (e.g. ``client_credentials_refused``), when it did."""
    is_machine: bool = False
    """Signs in as this app (client_credentials): Connect asks for a token, no browser."""


async def connectors_page(request: Request) -> Response:
    web = web_of(request)
    known = await Known.read(web)
    cards = [
        await card(web, c, known=known) for c in known.configs.values() if c.kind is not SourceKind.STDIO
    ]
    added = request.query_params.get("added", "")
    notice = f"Added {added}." if added in known.configs else ""
    context = {
        "cards": cards,
        "form": ConnectorForm(),
        "notice": notice,
        "categories": web.backend.directory().categories(),
    }
    return await web.render(request, "connectors.html", context)


async def card_fragment(request: Request) -> Response:
    web = web_of(request)
    config = await _connector(web, request.path_params["name"])
    return web.fragment("_connector.html", {"card": await card(web, config)})


async def add_connector(request: Request) -> Response:
    web = web_of(request)
    posted = await read_form(request, max_files=1)
    form = parse_connector_form(posted, await posted_private_key(posted))
    existing = {c.name for c in await web.backend.store.list_sources()}
    if form.config is not None and form.config.name in existing:
        form.errors["name"] = f"'{form.config.name}' is taken: pick another name"
    if form.errors or form.config is None:
        return web.fragment("_connector_form.html", {"form": form}, status_code=422)
    config = form.config
    await web.backend.add_source(actor(request), config)
    vault = web.backend.connector_vault(config)
    vault.save_headers(form.headers)
    if form.machine is not None:
        vault.save_client(form.machine)  # gets its token as it starts: no browser
    elif form.client_id:
        save_client(vault, form.client_id, form.client_secret)
    with anyio.move_on_after(START_WAIT_S):
        await web.backend.start_sources([config.name])
    query = urlencode({"added": config.name})
    return HTMLResponse("", headers={"HX-Redirect": f"/connectors?{query}#connector-{config.name}"})


async def connect(request: Request) -> Response:
    web = web_of(request)
    config = await _connector(web, request.path_params["name"])
    sign_in, flight = await start_sign_in(request, web, config)
    if sign_in.authorization_url and not flight.done.is_set():
        return HTMLResponse("", headers={"HX-Redirect": sign_in.authorization_url})
    if not flight.done.is_set():
        return await _card(web, config, "still contacting the authorization server: try again", "warn")
    if flight.error is not None:
        return await _card(web, config, str(flight.error), "bad")
    return await _card(web, config, flight.message, "ok")


async def start_sign_in(request: Request, web: Web, config: SourceConfig) -> tuple[WebSignIn, Flight]:
    """Start the OAuth flow back to this page's /oauth/callback; return once the browser has
    somewhere to go (``authorization_url``) or the flow ended."""
    who = actor(request)
    host = request.headers.get("host", "127.0.0.1")
    sign_in = WebSignIn(config.name, f"{request.url.scheme}://{host}{CALLBACK_PATH}")
    flight = await web.signins.start(sign_in, lambda s: _sign_in(web, config, s, who))
    return sign_in, flight


async def oauth_callback(request: Request) -> Response:
    """Where the authorization server sends the browser back. Open (no session cookie reaches a
    cross-site redirect under SameSite=Strict): only a sign-in in flight with this state counts."""
    from tether.connectors.signin import Callback

    web = web_of(request)
    callback = Callback.from_query(request.url.query)
    flight = web.signins.find(callback.state)
    if flight is None or not flight.sign_in.deliver(callback):
        page = web.pages.fragment(
            "oauth_done.html",
            {
                "title": "Unknown sign-in",
                "message": "This sign-in is not in progress (it finished, expired "
                "or was started elsewhere). Go back to tether and press Connect again.",
                "tone": "bad",
            },
        )
        return HTMLResponse(page, status_code=400)
    with anyio.move_on_after(FINISH_TIMEOUT_S):
        await flight.done.wait()
    if flight.error is not None:
        title, message, tone = "Not connected", str(flight.error), "bad"
    elif flight.done.is_set():
        title, message, tone = "Connected", flight.message, "ok"
    else:
        title, message, tone = "Still connecting", "tether is still finishing the sign-in.", "warn"
    return HTMLResponse(
        web.pages.fragment("oauth_done.html", {"title": title, "message": message, "tone": tone})
    )


async def edit_form(request: Request) -> Response:
    """The card with its edit form open, prefilled from what is stored."""
    web = web_of(request)
    config = await _connector(web, request.path_params["name"])
    form = stored_form(_edit_key(web), config, web.backend.connector_vault(config))
    return web.fragment("_connector.html", {"card": await card(web, config, edit=form)})


async def save_edit(request: Request) -> Response:
    """Save the edit form: refused with the typed values kept when a field is wrong (422) or when
    the connector was saved elsewhere since the form was opened (409)."""
    web = web_of(request)
    name = request.path_params["name"]
    posted = await read_form(request, max_files=1)
    private_key = await posted_private_key(posted)
    lock = web.state.setdefault("connector_edit_locks", {}).setdefault(name, anyio.Lock())
    async with lock:
        config = await _connector(web, name)
        vault = web.backend.connector_vault(config)
        stored = stored_form(_edit_key(web), config, vault)
        typed = read_edit_form(posted, stored, private_key)
        if typed.version != stored.version:
            typed.version = stored.version
            typed.current = differences(typed, stored)
            typed.notice = (
                "This connector was changed elsewhere (another tab or process) after you opened the form. "
                "Nothing of yours was saved: your edits are below, with the value saved meanwhile under "
                "each field that differs (type secrets and headers again if you changed them). "
                "Check them and press Save again."
            )
            typed.notice_tone = "bad"
            return await _card(web, config, "", "ok", edit=typed, status_code=409)
        typed.errors = {**check_change(config, vault, typed.change, names=WEB_NAMES), **typed.errors}
        if typed.errors:
            typed.notice, typed.notice_tone = "Fix the fields marked below; nothing was saved.", "bad"
            return await _card(web, config, "", "ok", edit=typed, status_code=422)
        edited = await web.backend.edit_connector(actor(request), name, typed.change)
    if edited.changed and edited.config.is_enabled:
        with anyio.move_on_after(START_WAIT_S):
            await web.backend.start_sources([name])
    if not edited.changed:
        return await _card(web, edited.config, "Nothing changed.", "ok")
    notice = "Saved: " + ", ".join(CHANGE_WORDS.get(c, c) for c in edited.changed) + "."
    if edited.signed_out:
        notice += f" Signed out: {edited.signed_out}. Press Connect to sign in again."
    if edited.headers_dropped:
        notice += f" Headers dropped: {edited.headers_dropped} (Edit, Headers)."
    warn = edited.signed_out or edited.headers_dropped
    return await _card(web, edited.config, notice, "warn" if warn else "ok")


async def disconnect(request: Request) -> Response:
    from tether.connectors.login import Revocation, sign_out

    web = web_of(request)
    config = await _connector(web, request.path_params["name"])
    outcome = await sign_out(web.backend.connector_vault(config), guard=web.backend.network_guard(config))
    await web.backend.host.record(
        ConnectorSignedOut(source=config.name, revocation=outcome.value), actor=actor(request)
    )
    said = {
        Revocation.REVOKED: "signed out; the server revoked the tokens",
        Revocation.UNSUPPORTED: "signed out; the server cannot revoke, so tether forgot the tokens",
        Revocation.FAILED: "signed out; the server did not confirm revoking, tether forgot the tokens",
        Revocation.NOTHING: "was not signed in",
    }
    _wake(web, config.name)
    return await _card(web, config, said[outcome], "ok")


async def remove(request: Request) -> Response:
    web = web_of(request)
    config = await _connector(web, request.path_params["name"])
    await web.backend.remove_source(actor(request), config.name)
    return web.fragment("_notice.html", {"message": f"Removed {config.name}.", "tone": "ok"})


async def set_enabled(request: Request) -> Response:
    web = web_of(request)
    config = await _connector(web, request.path_params["name"])
    is_enabled = (await read_form(request)).get("is_enabled") == "on"
    await web.backend.set_enabled(actor(request), config.name, is_enabled=is_enabled)
    host = web.backend.host
    if not is_enabled and config.name in host.statuses():
        await host.remove_source(config.name)
    elif is_enabled:
        with anyio.move_on_after(START_WAIT_S):
            await web.backend.start_sources([config.name])
    return await _card(web, await web.backend.store.get_source(config.name), "", "ok")


async def card(
    web: Web,
    config: SourceConfig,
    notice: str = "",
    notice_tone: str = "ok",
    *,
    known: Known | None = None,
    edit: EditForm | None = None,
) -> ConnectorCard:
    status = web.backend.host.statuses().get(config.name)
    state = (
        status.state if status else (SourceState.DISABLED if not config.is_enabled else SourceState.STOPPED)
    )
    label, tone = STATE_LABELS.get(state, (state.value, "off"))
    known = known or await Known.read(web)
    tools = await known.tool_lines(web, config.name)
    vault = web.backend.connector_vault(config)
    client = vault.load_client()
    source = web.backend.host.source(config.name) if status is not None else None
    failed = state in (SourceState.FAILED, SourceState.RESTARTING) and isinstance(source, Fails)
    error = source.last_error if failed and isinstance(source, Fails) else None
    return ConnectorCard(
        name=config.name,
        url=config.url or "",
        transport="Streamable HTTP" if config.kind is SourceKind.HTTP else "SSE (legacy)",
        state=label,
        tone=tone,
        detail=_detail(state, status.detail if status else "", config.name),
        is_enabled=config.is_enabled,
        is_signed_in=vault.grant_fingerprint() is not None,
        is_transient=state in TRANSIENT,
        tools=tools,
        notice=notice,
        notice_tone=notice_tone,
        edit=edit,
        error_code=error.code if error is not None else "",
        is_machine=client is not None and client.is_client_credentials,
    )


def _detail(state: SourceState, detail: str, name: str) -> str:
    """The status detail in the UI's words (the sources phrase it for the command line)."""
    if state is SourceState.RUNNING:
        return ""
    if state is SourceState.NEEDS_SIGN_IN and "more permissions" not in detail:
        return "Press Connect to sign in."
    return detail.replace(f"`tether connector edit {name}`", "Edit")  # the button on this card


async def _sign_in(web: Web, config: SourceConfig, sign_in: WebSignIn, who: Actor) -> str:
    from tether.connectors.login import sign_in_with

    vault = web.backend.connector_vault(config)
    stored = vault.load_client()
    if stored is not None and not stored.is_pre_registered:
        registered = [str(uri) for uri in stored.info.redirect_uris or []]
        if sign_in.redirect_uri not in registered:
            vault.forget_client()  # registered for the CLI's loopback port: register the web's
    result = await sign_in_with(
        vault,
        sign_in,
        guard=web.backend.network_guard(config),
        client_metadata_url=web.backend.client_metadata_url,
    )
    if not result.is_needed:
        return f"{config.name} lets tether in without signing in"
    await web.backend.host.record(ConnectorSignedIn(source=config.name, scope=result.scope), actor=who)
    if not _wake(web, config.name):
        with anyio.move_on_after(START_WAIT_S):
            await web.backend.start_sources([config.name])
    return f"Signed in to {config.name}" + (f" (scope: {result.scope})" if result.scope else "") + "."


def _wake(web: Web, name: str) -> bool:
    """Make a running connector try again now; False when it is not running."""
    host = web.backend.host
    if name not in host.statuses():
        return False
    source = host.source(name)
    if isinstance(source, Reconnects):
        source.reconnect()
    return True


async def _connector(web: Web, name: str) -> SourceConfig:
    config = await web.backend.store.get_source(name)
    if config.kind is SourceKind.STDIO:
        raise SourceError(f"'{name}' is a local server, not a connector")
    return config


async def _card(
    web: Web,
    config: SourceConfig,
    notice: str,
    tone: str,
    *,
    edit: EditForm | None = None,
    status_code: int = 200,
) -> Response:
    view = await card(web, config, notice, tone, edit=edit)
    return web.fragment("_connector.html", {"card": view}, status_code=status_code)


def _edit_key(web: Web) -> bytes:
    """The key of the edit forms' versions: they say whether something changed, never what."""
    return web.state.setdefault("connector_edit_key", secrets.token_bytes(32))
