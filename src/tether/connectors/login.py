"""Signing a connector in and out, as one step each (what ``tether connector login|logout`` run).

``sign_in`` listens on 127.0.0.1, lets the server challenge an unauthenticated request and
runs the OAuth flow through a person; ``sign_out`` revokes the tokens (RFC 7009) where the
server supports it and forgets them either way. The client registration is kept.
"""

from __future__ import annotations

import contextlib
import enum
import json
from dataclasses import dataclass
from typing import Any, cast

import anyio
import httpx2
from mcp.client.auth.oauth2 import OAuthContext
from mcp.shared.auth import OAuthClientMetadata
from pydantic import AnyUrl

from tether.connectors import grants
from tether.connectors.netguard import NetworkGuard
from tether.connectors.oauth import ConnectorAuth
from tether.connectors.signin import LoopbackSignIn, Presenter, SignIn
from tether.connectors.transport import connect_failure
from tether.connectors.vault import ConnectorVault
from tether.errors import (
    AuthServerUnavailable,
    ConnectorUnreachable,
    NeedsSignIn,
    SourceTimeout,
    UsageError,
)

SIGN_IN_TIMEOUT_S = 600.0
_MAX_PROBE_ANSWER = 64 * 1024
_PROBE_READ_S = 10.0
_PROBE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "tether", "version": "0"},
    },
}


class Revocation(enum.StrEnum):
    REVOKED = "revoked"
    UNSUPPORTED = "unsupported"
    FAILED = "failed"
    NOTHING = "nothing"


@dataclass(frozen=True, slots=True)
class SignInResult:
    is_needed: bool
    """False when the server let tether in without signing in."""
    scope: str | None = None


async def sign_in(
    vault: ConnectorVault,
    present: Presenter,
    *,
    guard: NetworkGuard,
    timeout_s: float = SIGN_IN_TIMEOUT_S,
    client_metadata_url: str | None = None,
) -> SignInResult:
    """Sign in through the browser with a loopback redirect (the CLI flow)."""
    stored = vault.load_client()
    port = stored.callback_port if stored and stored.callback_port else 0
    is_listening = False
    try:
        async with LoopbackSignIn.listen(present, port=port) as loopback:
            is_listening = True
            return await sign_in_with(
                vault, loopback, guard=guard, timeout_s=timeout_s, client_metadata_url=client_metadata_url
            )
    except UsageError:
        # Only a busy port is retried: any other usage error (a bad setting) keeps the client.
        if is_listening or stored is None or stored.is_pre_registered or port == 0:
            raise
    # The port this client was registered with is busy: register again on another one.
    vault.forget_client()
    async with LoopbackSignIn.listen(present) as loopback:
        return await sign_in_with(
            vault, loopback, guard=guard, timeout_s=timeout_s, client_metadata_url=client_metadata_url
        )


async def sign_in_with(
    vault: ConnectorVault,
    sign_in: SignIn,
    *,
    guard: NetworkGuard,
    timeout_s: float = SIGN_IN_TIMEOUT_S,
    client_metadata_url: str | None = None,
) -> SignInResult:
    """Sign in with any ``SignIn`` (the web UI brings its own callback route).

    ``client_metadata_url`` is tether's Client ID Metadata Document, used as the client id when
    the user registered none and the authorization server supports it (else DCR)."""
    auth = ConnectorAuth(
        vault, guard=guard, sign_in=sign_in, raise_errors=True, client_metadata_url=client_metadata_url
    )
    auth.start_fresh()
    try:
        with anyio.fail_after(timeout_s):
            status = await _probe(vault.url, auth)
    except TimeoutError:
        raise SourceTimeout(
            f"connector '{vault.name}': the sign-in was not completed within {timeout_s:g} s"
        ) from None
    except httpx2.TransportError as error:
        raise _unreachable(vault, error) from None
    grant = vault.load_grant()
    if grant is None:
        if status in (401, 403):
            raise NeedsSignIn(f"connector '{vault.name}': the server still refuses tether after signing in")
        return SignInResult(is_needed=False)
    return SignInResult(is_needed=True, scope=grant.token.scope)


async def _probe(url: str, auth: ConnectorAuth) -> int:
    """Send the requests the server must authorize; the auth flow signs in when challenged.

    Some servers let ``initialize`` through and protect only what follows it, so after an
    accepted ``initialize`` the probe goes on in that session up to ``tools/list``.
    """
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    async with httpx2.AsyncClient(auth=auth, timeout=30.0) as http:
        async with http.stream("POST", url, json=_PROBE, headers=headers) as response:
            status = response.status_code
            session = response.headers.get("mcp-session-id")
            version = None
            if status == 200:
                with anyio.move_on_after(_PROBE_READ_S):  # a server that never finishes its answer
                    version = await _negotiated_version(response)
        if session:
            headers["mcp-session-id"] = session
        try:
            if version is not None:
                status = await _probe_session(http, url, {**headers, "mcp-protocol-version": version})
        finally:
            if session:
                with contextlib.suppress(httpx2.TransportError):  # the server forgets idle sessions too
                    await http.delete(url, headers=headers)
        if status in (404, 405):  # a legacy HTTP+SSE server: its stream is what is protected
            async with http.stream("GET", url, headers={"Accept": "text/event-stream"}) as response:
                status = response.status_code
    return status


async def _probe_session(http: httpx2.AsyncClient, url: str, headers: dict[str, str]) -> int:
    """Finish the handshake and list the tools, as a connection does; the status of the listing."""
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    async with http.stream("POST", url, json=initialized, headers=headers) as response:
        if response.status_code >= 400:
            return response.status_code
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    async with http.stream("POST", url, json=listing, headers=headers) as response:
        return response.status_code


async def _negotiated_version(response: httpx2.Response) -> str | None:
    """The protocol version an ``initialize`` answer (JSON or one SSE event) agreed on, if readable."""
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/json", "text/event-stream"):
        return None
    text = ""
    async for chunk in response.aiter_text():
        text += chunk
        if len(text) > _MAX_PROBE_ANSWER or (
            kind == "text/event-stream" and '"result"' in text and "\n\n" in text
        ):
            break
    bodies = (
        [line[5:] for line in text.splitlines() if line.startswith("data:")]
        if kind != "application/json"
        else [text]
    )
    for body in bodies:
        try:
            answer: Any = json.loads(body)
        except ValueError:
            continue
        result: object = cast(dict[str, Any], answer).get("result") if isinstance(answer, dict) else None
        version: object = (
            cast(dict[str, Any], result).get("protocolVersion") if isinstance(result, dict) else None
        )
        if isinstance(version, str) and version:
            return version
    return None


def _unreachable(vault: ConnectorVault, error: httpx2.TransportError) -> Exception:
    try:
        host = error.request.url.host
    except RuntimeError:
        host = httpx2.URL(vault.url).host
    reason = connect_failure(error, host=host)
    if host == httpx2.URL(vault.url).host:
        return ConnectorUnreachable(f"connector '{vault.name}': cannot reach {vault.url} ({reason})")
    return AuthServerUnavailable(
        f"connector '{vault.name}': cannot reach the authorization server {host} ({reason})"
    )


async def sign_out(vault: ConnectorVault, *, guard: NetworkGuard) -> Revocation:
    """Revoke the tokens where the server supports it, then forget them."""
    grant = vault.load_grant()
    stored = vault.load_client()
    try:
        if grant is None:
            return Revocation.NOTHING
        endpoint = grant.auth_server.revocation_endpoint if grant.auth_server else None
        if endpoint is None or stored is None:
            return Revocation.UNSUPPORTED
        await guard.check(str(endpoint))
        context = OAuthContext(
            server_url=vault.url,
            client_metadata=OAuthClientMetadata(redirect_uris=[AnyUrl("http://127.0.0.1/callback")]),
            storage=None,  # pyright: ignore[reportArgumentType]
            redirect_handler=None,
            callback_handler=None,
            client_info=stored.info,
        )
        tokens = [(grant.token.access_token, "access_token")]
        if grant.token.refresh_token:
            tokens.insert(0, (grant.token.refresh_token, "refresh_token"))
        async with httpx2.AsyncClient(timeout=30.0) as http:
            is_revoked = await grants.revoke(
                http,
                revocation_endpoint=str(endpoint),
                tokens=tokens,
                client_id=stored.info.client_id,
                prepare_auth=context.prepare_token_auth,
            )
        return Revocation.REVOKED if is_revoked else Revocation.FAILED
    finally:
        vault.forget_grant()
        vault.save_wanted_scope(None)
