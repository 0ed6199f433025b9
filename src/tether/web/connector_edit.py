"""The "Edit connector" form: prefilled from what is stored, read back into a ConnectorChange.

Secrets (the client secret, a machine client's private key, the header values) never go back to
the page: their fields show only whether something is saved; an empty field keeps it, a "remove"
box deletes it. The form
carries a version of everything it edits (an HMAC, so it reveals nothing about the secrets):
a save over someone else's newer save is refused and shown with the typed values kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field

from starlette.datastructures import FormData

from tether.connectors.editing import ConnectorChange, pre_registered
from tether.connectors.headers import parse_helper_output
from tether.connectors.machine import SIGNING_ALGS
from tether.connectors.vault import ConnectorVault
from tether.types import SourceConfig, SourceKind

VERSION_FIELD = "version"
TRANSPORT_NAMES = {SourceKind.HTTP: "http", SourceKind.SSE: "sse"}
TRANSPORTS = {name: kind for kind, name in TRANSPORT_NAMES.items()}


@dataclass
class EditForm:
    name: str
    version: str
    url: str = ""
    transport: str = "http"
    timeout_s: str = "60"
    client_id: str = ""
    has_client_secret: bool = False
    is_machine: bool = False
    """A client_credentials client: its secret or private key can be replaced."""
    has_private_key: bool = False
    signing_alg: str = ""
    header_names: tuple[str, ...] = ()
    is_signed_in: bool = False
    errors: dict[str, str] = field(default_factory=dict[str, str])
    current: dict[str, str] = field(default_factory=dict[str, str])
    """After a conflict: the values saved meanwhile that differ from what was typed."""
    notice: str = ""
    notice_tone: str = "ok"
    change: ConnectorChange = field(default_factory=ConnectorChange, repr=False)


def edit_version(key: bytes, config: SourceConfig, vault: ConnectorVault) -> str:
    """Changes whenever anything the form edits changes, here or in another process."""
    client = pre_registered(vault)
    edited = [
        config.url,
        config.kind.value,
        config.call_timeout_s,
        vault.load_headers(),
        [client.info.client_id, client.info.client_secret, client.private_key_pem, client.signing_alg]
        if client is not None
        else None,
    ]
    return hmac.new(key, json.dumps(edited, sort_keys=True).encode(), hashlib.sha256).hexdigest()[:32]


def stored_form(key: bytes, config: SourceConfig, vault: ConnectorVault) -> EditForm:
    """The form for what is stored now."""
    client = pre_registered(vault)
    return EditForm(
        name=config.name,
        version=edit_version(key, config, vault),
        url=config.url or "",
        transport=TRANSPORT_NAMES.get(config.kind, "http"),
        timeout_s=f"{config.call_timeout_s:g}",
        client_id=client.info.client_id if client is not None else "",
        has_client_secret=client is not None and bool(client.info.client_secret),
        is_machine=client is not None and client.is_client_credentials,
        has_private_key=client is not None and bool(client.private_key_pem),
        signing_alg=(client.signing_alg or "") if client is not None else "",
        header_names=tuple(sorted(vault.load_headers())),
        is_signed_in=vault.grant_fingerprint() is not None,
    )


def read_edit_form(posted: FormData, stored: EditForm, private_key: tuple[str, str] = ("", "")) -> EditForm:
    """What was typed, over ``stored`` (for the secret markers): the change it asks for, and the
    errors of the fields that do not parse (those fields are left out of the change).
    ``private_key`` is what ``posted_private_key`` read: a machine client's new key."""

    def value(name: str) -> str:
        raw = posted.get(name)
        return raw.strip() if isinstance(raw, str) else ""

    typed = EditForm(
        name=stored.name,
        version=value(VERSION_FIELD),
        url=value("url"),
        transport=value("transport") or "http",
        timeout_s=value("timeout_s") or "60",
        client_id=value("client_id"),
        has_client_secret=stored.has_client_secret,
        is_machine=stored.is_machine,
        has_private_key=stored.has_private_key,
        signing_alg=value("signing_alg") if stored.is_machine else stored.signing_alg,
        header_names=stored.header_names,
        is_signed_in=stored.is_signed_in,
    )
    errors = typed.errors
    kind = TRANSPORTS.get(typed.transport)
    if kind is None:
        errors["transport"] = "Streamable HTTP or SSE"
    try:
        timeout_s = float(typed.timeout_s)
    except ValueError:
        errors["timeout_s"] = "a number of seconds, e.g. 60"
        timeout_s = None
    headers: dict[str, str] | None = None
    if value("clear_headers") == "on":
        headers = {}
    if value("headers"):
        try:
            headers = parse_helper_output(value("headers"))
        except ValueError as error:
            errors["headers"] = f"one 'Name: value' per line: {error}"
    if stored.is_machine and not typed.client_id:
        errors["client_id"] = (
            "this app signs in with its client id: type it (to sign in as a person instead, "
            "remove the connector and add it again)"
        )
    pem, problem = private_key
    if problem:
        errors["private_key"] = problem
    alg = value("signing_alg") or None
    if alg is not None and alg not in SIGNING_ALGS:
        errors["signing_alg"] = f"RS256 or ES256, not '{alg}'"
        alg = None
    typed.change = ConnectorChange(
        url=typed.url,
        kind=kind,
        call_timeout_s=timeout_s,
        headers=headers,
        client_id=typed.client_id,
        client_secret=value("client_secret") or None,
        clear_client_secret=value("clear_client_secret") == "on",
        private_key_pem=pem or None,
        signing_alg=alg if pem else None,  # a saved key keeps the algorithm it was checked with
    )
    return typed


def differences(typed: EditForm, stored: EditForm) -> dict[str, str]:
    """The plain fields saved meanwhile that differ from what was typed (secrets never shown)."""
    shown: dict[str, str] = {}
    for name in ("url", "transport", "timeout_s", "client_id"):
        saved: str = getattr(stored, name)
        if getattr(typed, name) != saved:
            shown[name] = saved
    return shown
