"""The "Add custom connector" form: read, check field by field, and turn into a SourceConfig.

Every problem is reported on its field. The headers, the client secret and a machine client's
private key are parsed into ``headers``/``client_secret``/``machine`` for the secret store and
are never put back into the form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.datastructures import FormData, UploadFile

from tether.connectors.headers import parse_helper_output
from tether.connectors.machine import SIGNING_ALGS, FieldNames, check_machine_client
from tether.connectors.vault import ConnectorVault, StoredClient
from tether.core.tools import check_source_name
from tether.errors import InvalidName
from tether.types import SourceConfig, SourceKind

TRANSPORTS = {"http": SourceKind.HTTP, "sse": SourceKind.SSE}
MAX_TIMEOUT_S = 3600.0
PERSON = "person"
CLIENT_CREDENTIALS = "client_credentials"
SIGN_IN_AS = (PERSON, CLIENT_CREDENTIALS)
MAX_KEY_BYTES = 64 * 1024
WEB_NAMES = FieldNames("its client id", "client secret", "private key", "signing algorithm")


@dataclass
class ConnectorForm:
    name: str = ""
    url: str = ""
    transport: str = "http"
    client_id: str = ""
    timeout_s: str = "60"
    sign_in_as: str = PERSON
    signing_alg: str = ""
    notice: str = ""
    """Why the form is shown filled in (a directory entry that needs the user's URL or headers)."""
    is_advanced_open: bool = False
    errors: dict[str, str] = field(default_factory=dict[str, str])
    config: SourceConfig | None = None
    headers: dict[str, str] = field(default_factory=dict[str, str], repr=False)
    client_secret: str | None = field(default=None, repr=False)
    machine: StoredClient | None = field(default=None, repr=False)
    """The client_credentials client to save, when signing in as this app."""

    @property
    def is_machine(self) -> bool:
        return self.sign_in_as == CLIENT_CREDENTIALS


async def posted_private_key(form: FormData) -> tuple[str, str]:
    """The PEM typed into ``private_key`` or uploaded as ``private_key_file``: (pem, problem)."""
    typed = form.get("private_key")
    pem = typed.strip() if isinstance(typed, str) else ""
    upload = form.get("private_key_file")
    if not isinstance(upload, UploadFile):
        return pem, ""
    if not upload.filename:
        await upload.close()
        return pem, ""
    try:
        raw = await upload.read(MAX_KEY_BYTES + 1)
    finally:
        await upload.close()  # read once, here: its spooled file goes now
    if not raw:
        return pem, ""
    if pem:
        return "", "paste the key or choose its file, not both"
    if len(raw) > MAX_KEY_BYTES:
        return "", f"the file is larger than {MAX_KEY_BYTES // 1024} KiB: choose the PEM private key file"
    try:
        return raw.decode("utf-8").strip(), ""
    except UnicodeDecodeError:
        return "", "not a text PEM file: choose the PEM private key (-----BEGIN PRIVATE KEY-----)"


def parse_connector_form(form: FormData, private_key: tuple[str, str] = ("", "")) -> ConnectorForm:
    """The form checked field by field; ``private_key`` is what ``posted_private_key`` read."""

    def value(name: str) -> str:
        raw = form.get(name)
        return raw.strip() if isinstance(raw, str) else ""

    parsed = ConnectorForm(
        name=value("name"),
        url=value("url"),
        transport=value("transport") or "http",
        client_id=value("client_id"),
        timeout_s=value("timeout_s") or "60",
        sign_in_as=value("sign_in_as") or PERSON,
        signing_alg=value("signing_alg"),
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
    if parsed.sign_in_as not in SIGN_IN_AS:
        errors["sign_in_as"] = "a person (OAuth in the browser) or this app (client credentials)"
    elif parsed.is_machine:
        parsed.machine = _machine(parsed, secret, private_key)
    elif secret and not parsed.client_id:
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


def _machine(parsed: ConnectorForm, secret: str, private_key: tuple[str, str]) -> StoredClient | None:
    pem, problem = private_key
    if problem:
        parsed.errors["private_key"] = problem
    alg = parsed.signing_alg or None
    if alg is not None and alg not in SIGNING_ALGS:
        parsed.errors["signing_alg"] = f"RS256 or ES256, not '{alg}'"
        alg = None
    client, problems = check_machine_client(
        parsed.client_id,
        client_secret=secret or None,
        private_key_pem=pem or None,
        signing_alg=alg if pem else None,  # the algorithm belongs to the key section
        names=WEB_NAMES,
    )
    for name, text in problems.items():
        parsed.errors.setdefault(name, text)
    return client


def save_client(vault: ConnectorVault, client_id: str, client_secret: str | None) -> None:
    """A client the user registered with the service (its redirect URI must be the web UI's)."""
    from mcp.shared.auth import OAuthClientInformationFull

    info = OAuthClientInformationFull(
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method="client_secret_post" if client_secret else "none",
    )
    vault.save_client(StoredClient(info=info, is_pre_registered=True))
