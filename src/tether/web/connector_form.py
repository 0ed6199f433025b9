"""The "Add custom connector" form: read, check field by field, and turn into a SourceConfig.

Every problem is reported on its field. The headers and the client secret are parsed into
``headers``/``client_secret`` for the secret store and are never put back into the form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.datastructures import FormData

from tether.connectors.headers import parse_helper_output
from tether.connectors.vault import ConnectorVault, StoredClient
from tether.core.tools import check_source_name
from tether.errors import InvalidName
from tether.types import SourceConfig, SourceKind

TRANSPORTS = {"http": SourceKind.HTTP, "sse": SourceKind.SSE}
MAX_TIMEOUT_S = 3600.0


@dataclass
class ConnectorForm:
    name: str = ""
    url: str = ""
    transport: str = "http"
    client_id: str = ""
    timeout_s: str = "60"
    notice: str = ""
    """Why the form is shown filled in (a directory entry that needs the user's URL or headers)."""
    is_advanced_open: bool = False
    errors: dict[str, str] = field(default_factory=dict[str, str])
    config: SourceConfig | None = None
    headers: dict[str, str] = field(default_factory=dict[str, str], repr=False)
    client_secret: str | None = field(default=None, repr=False)


def parse_connector_form(form: FormData) -> ConnectorForm:
    def value(name: str) -> str:
        raw = form.get(name)
        return raw.strip() if isinstance(raw, str) else ""

    parsed = ConnectorForm(
        name=value("name"),
        url=value("url"),
        transport=value("transport") or "http",
        client_id=value("client_id"),
        timeout_s=value("timeout_s") or "60",
    )
    errors = parsed.errors
    try:
        check_source_name(parsed.name)
    except InvalidName as error:
        errors["name"] = str(error) if parsed.name else "required: a short name such as 'linear'"
    if not parsed.url.startswith(("https://", "http://")) or len(parsed.url) < 10:
        errors["url"] = "an http(s) URL, e.g. https://mcp.example.com/mcp"
    if parsed.transport not in TRANSPORTS:
        errors["transport"] = "Streamable HTTP or SSE"
    try:
        timeout_s = float(parsed.timeout_s)
        if not 0 < timeout_s <= MAX_TIMEOUT_S:
            raise ValueError
    except ValueError:
        errors["timeout_s"] = f"seconds between 1 and {MAX_TIMEOUT_S:g}"
        timeout_s = 60.0
    secret = value("client_secret")
    if secret and not parsed.client_id:
        errors["client_secret"] = "a client secret needs the client id it belongs to"
    parsed.client_secret = secret or None
    try:
        parsed.headers = parse_helper_output(value("headers")) if value("headers") else {}
    except ValueError as error:
        errors["headers"] = f"one 'Name: value' per line: {error}"
    if not errors:
        parsed.config = SourceConfig(
            name=parsed.name,
            kind=TRANSPORTS[parsed.transport],
            url=parsed.url,
            call_timeout_s=timeout_s,
        )
    return parsed


def save_client(vault: ConnectorVault, client_id: str, client_secret: str | None) -> None:
    """A client the user registered with the service (its redirect URI must be the web UI's)."""
    from mcp.shared.auth import OAuthClientInformationFull

    info = OAuthClientInformationFull(
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method="client_secret_post" if client_secret else "none",
    )
    vault.save_client(StoredClient(info=info, is_pre_registered=True))
