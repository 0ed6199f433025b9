"""Editing a connector: its URL, transport, call timeout, static headers and OAuth client.

Every change is checked before anything is written, so a bad edit leaves the connector as it
was. A new URL drops the tokens (they are bound to the URL they were issued for) and any
automatic client registration; a new client drops the tokens too. A machine-to-machine
(client_credentials) client stays one when its id, secret or key changes. Secrets go to the
vault and are never handed back. The name cannot change: policies and activity are keyed by it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tether.connectors.machine import CLI_NAMES, FieldNames, check_machine_client
from tether.connectors.vault import ConnectorVault, StoredClient
from tether.core.storage import SourceStore
from tether.errors import SourceError, UsageError
from tether.types import SourceConfig, SourceKind

MAX_TIMEOUT_S = 3600.0
TRANSPORTS = (SourceKind.HTTP, SourceKind.SSE)


@dataclass(frozen=True, slots=True)
class ConnectorChange:
    """What to change; ``None`` keeps the stored value."""

    url: str | None = None
    kind: SourceKind | None = None
    call_timeout_s: float | None = None
    headers: Mapping[str, str] | None = field(default=None, repr=False)
    """Replaces every static header; ``{}`` removes them."""
    client_id: str | None = None
    """The OAuth client id the user registered with the service; ``""`` goes back to automatic
    registration."""
    client_secret: str | None = field(default=None, repr=False)
    clear_client_secret: bool = False
    private_key_pem: str | None = field(default=None, repr=False)
    """A new private key for a client_credentials client (``private_key_jwt``)."""
    signing_alg: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectorEdited:
    config: SourceConfig
    changed: tuple[str, ...]
    """What changed: ``url``, ``transport``, ``timeout``, ``headers``, ``oauth_client``."""
    signed_out: str = ""
    """Why the stored sign-in was dropped, or "" when it was kept."""
    headers_dropped: str = ""
    """Why the stored static headers were dropped (a new server), or "" when they were kept."""


@dataclass(frozen=True, slots=True)
class _Plan:
    config: SourceConfig
    client: StoredClient | None
    is_client_changed: bool
    headers: dict[str, str] | None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme, parts.hostname or "", port or (443 if parts.scheme == "https" else 80)


def url_problem(url: str) -> str | None:
    """What is wrong with a connector URL, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "an http(s) URL, e.g. https://mcp.example.com/mcp"
    return None


def timeout_problem(timeout_s: float) -> str | None:
    if not 0 < timeout_s <= MAX_TIMEOUT_S:
        return f"seconds between 1 and {MAX_TIMEOUT_S:g}"
    return None


def pre_registered(vault: ConnectorVault) -> StoredClient | None:
    """The client the user gave (not one tether registered by itself), if any."""
    client = vault.load_client()
    return client if client is not None and client.is_pre_registered else None


def check_change(
    config: SourceConfig, vault: ConnectorVault, change: ConnectorChange, *, names: FieldNames = CLI_NAMES
) -> dict[str, str]:
    """Every problem of ``change`` by field (``url``, ``transport``, ``timeout_s``, ``client_id``,
    ``client_secret``, ``private_key``, ``signing_alg``), a machine client's in the words of
    ``names``; empty when it can be saved."""
    return _plan(config, vault, change, names)[1]


async def edit_connector(
    store: SourceStore, vault: ConnectorVault, config: SourceConfig, change: ConnectorChange
) -> ConnectorEdited:
    """Check ``change`` and save it; UsageError (nothing written) when a field is wrong."""
    if config.kind is SourceKind.STDIO:
        raise SourceError(f"'{config.name}' is a local server, not a connector")
    plan, problems = _plan(config, vault, change, CLI_NAMES)
    if problems:
        raise UsageError("; ".join(f"{name}: {problem}" for name, problem in problems.items()))
    changed: list[str] = []
    new = plan.config
    if new.url != config.url:
        changed.append("url")
    if new.kind is not config.kind:
        changed.append("transport")
    if new.call_timeout_s != config.call_timeout_s:
        changed.append("timeout")
    if plan.headers is not None:
        changed.append("headers")
    if plan.is_client_changed:
        changed.append("oauth_client")
    if new != config:
        await store.update_source(new)
    if plan.headers is not None:
        vault.save_headers(plan.headers)
    if plan.is_client_changed:
        if plan.client is not None:
            vault.save_client(plan.client)
        else:
            vault.forget_client()
    signed_out = headers_dropped = ""
    had_grant = vault.grant_fingerprint() is not None
    if "url" in changed:
        if plan.client is None:
            vault.forget_client()  # registered automatically with the old server
        elif plan.client.is_client_credentials:
            # Not bound to the old server's issuer any more.
            unbound = plan.client.info.model_copy(update={"issuer": None})
            vault.save_client(plan.client.model_copy(update={"info": unbound}))
        vault.forget_grant()
        vault.save_wanted_scope(None)
        if had_grant:
            signed_out = f"the URL changed, so tether dropped the sign-in issued for {config.url}"
        if plan.headers == {} and change.headers is None:
            headers_dropped = (
                f"the server changed, so tether dropped the headers saved for {config.url}: "
                "give the new server's again if it needs them"
            )
    elif plan.is_client_changed:
        vault.forget_grant()
        if had_grant:
            signed_out = "the OAuth client changed, so tether dropped the sign-in made with the old one"
    return ConnectorEdited(new, tuple(changed), signed_out, headers_dropped)


def _plan(
    config: SourceConfig, vault: ConnectorVault, change: ConnectorChange, names: FieldNames
) -> tuple[_Plan, dict[str, str]]:
    problems: dict[str, str] = {}
    url = (config.url or "") if change.url is None else change.url.strip()
    if (problem := url_problem(url)) is not None:
        problems["url"] = problem
    kind = config.kind if change.kind is None else change.kind
    if kind not in TRANSPORTS:
        problems["transport"] = "Streamable HTTP or SSE"
    timeout_s = config.call_timeout_s if change.call_timeout_s is None else change.call_timeout_s
    if (problem := timeout_problem(timeout_s)) is not None:
        problems["timeout_s"] = problem

    stored = pre_registered(vault)
    old_id = stored.info.client_id if stored is not None else ""
    old_secret = stored.info.client_secret if stored is not None else None
    new_id = old_id if change.client_id is None else change.client_id.strip()
    if change.client_secret:
        new_secret: str | None = change.client_secret
    elif change.clear_client_secret or new_id != old_id:
        new_secret = None
    else:
        new_secret = old_secret
    if change.client_secret and not new_id:
        problems["client_secret"] = "a client secret needs the client id it belongs to"
    elif (
        new_id
        and new_id != old_id
        and old_secret
        and not change.client_secret
        and not change.clear_client_secret
    ):
        problems["client_secret"] = (
            "the saved secret belongs to the old client id: type the new client's secret, "
            "or tick 'remove' for a client without one"
        )
    client: StoredClient | None = None
    is_machine = stored is not None and stored.is_client_credentials and bool(new_id)
    if (change.private_key_pem or change.signing_alg) and not is_machine:
        problems["private_key"] = (
            "a private key is only for a client_credentials connector: add it with --client-credentials"
        )
    if is_machine and stored is not None:
        problems.pop("client_secret", None)
        client = _machine_client(new_id, stored, change, problems, names)
    elif new_id:
        client = _client(new_id, new_secret, stored if new_id == old_id else None)
    old_key = (old_id, old_secret, stored.private_key_pem if stored else None)
    new_key = (
        (new_id, client.info.client_secret, client.private_key_pem) if client else (new_id, new_secret, None)
    )
    # Giving a machine client's secret or key again re-binds it to the authorization server it
    # next meets (it is bound to the first that accepted it).
    is_given_again = is_machine and bool(change.client_secret or change.private_key_pem)
    is_client_changed = old_key != new_key or is_given_again

    headers: dict[str, str] | None = None
    if change.headers is not None and dict(change.headers) != vault.load_headers():
        headers = dict(change.headers)
    elif change.headers is None and _origin(url) != _origin(config.url or "") and vault.load_headers():
        headers = {}  # static headers (API keys) were given for the old server: never sent to another
    new = dataclasses.replace(config, url=url, kind=kind, call_timeout_s=timeout_s)
    return _Plan(new, client, is_client_changed, headers), problems


def _machine_client(
    client_id: str,
    stored: StoredClient,
    change: ConnectorChange,
    problems: dict[str, str],
    names: FieldNames,
) -> StoredClient | None:
    """The edited client_credentials client: a new secret replaces the key and the other way round."""
    secret = change.client_secret or None
    key = change.private_key_pem or None
    if secret is None and key is None:
        secret = None if change.clear_client_secret else stored.info.client_secret
        key = stored.private_key_pem
    alg = change.signing_alg or (stored.signing_alg if key == stored.private_key_pem else None)
    client, machine_problems = check_machine_client(
        client_id, client_secret=secret, private_key_pem=key, signing_alg=alg, names=names
    )
    problems.update(machine_problems)
    if client is not None and not (change.client_secret or change.private_key_pem):
        # The same secret or key (under a new id, say) stays bound to the issuer that accepted it:
        # only giving it again re-binds it, as a new URL does.
        info = client.info.model_copy(update={"issuer": stored.info.issuer})
        client = client.model_copy(update={"info": info})
    return client


def _client(client_id: str, client_secret: str | None, previous: StoredClient | None) -> StoredClient:
    from mcp.shared.auth import OAuthClientInformationFull

    info = OAuthClientInformationFull(
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method="client_secret_post" if client_secret else "none",
    )
    port = previous.callback_port if previous is not None else None
    return StoredClient(info=info, is_pre_registered=True, callback_port=port)
