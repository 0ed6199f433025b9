"""Machine-to-machine connectors: tokens from the OAuth ``client_credentials`` grant, no person.

Builds and checks the client the user configured (a client secret, or a private key for
``private_key_jwt`` with RFC 7523 assertions signed here with ``cryptography``), and the token
request that authenticates it. Secrets and keys stay in the vault; nothing here logs them or
puts them in an error message.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from mcp.shared.auth import OAuthClientInformationFull, OAuthMetadata

from tether.connectors.vault import StoredClient
from tether.errors import UsageError

SigningAlg = Literal["RS256", "ES256"]
SIGNING_ALGS: tuple[SigningAlg, ...] = ("RS256", "ES256")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_S = 300
_ES256_HALF_BYTES = 32


@dataclass(frozen=True, slots=True)
class FieldNames:
    """How an interface names the settings of a machine client in its messages."""

    client_id: str
    client_secret: str
    private_key: str
    signing_alg: str


CLI_NAMES = FieldNames("--client-id", "--client-secret", "--private-key-file", "--signing-alg")


def machine_client(
    client_id: str,
    *,
    client_secret: str | None = None,
    private_key_pem: str | None = None,
    signing_alg: str | None = None,
) -> StoredClient:
    """The stored client of a machine-to-machine connector; UsageError says what to fix."""
    client, problems = check_machine_client(
        client_id, client_secret=client_secret, private_key_pem=private_key_pem, signing_alg=signing_alg
    )
    if client is None:
        raise UsageError("; ".join(problems.values()))
    return client


def check_machine_client(
    client_id: str,
    *,
    client_secret: str | None = None,
    private_key_pem: str | None = None,
    signing_alg: str | None = None,
    names: FieldNames = CLI_NAMES,
) -> tuple[StoredClient | None, dict[str, str]]:
    """The client, or every problem by field (``client_id``, ``client_secret``, ``private_key``,
    ``signing_alg``) in the words of the interface that asked (``names``)."""
    problems: dict[str, str] = {}
    client_id = client_id.strip()
    if not client_id:
        problems["client_id"] = f"a client_credentials connector needs {names.client_id}"
    if client_secret and private_key_pem:
        problems["private_key"] = (
            f"give the client's {names.client_secret} or its {names.private_key}: one of them, not both"
        )
    elif not client_secret and not private_key_pem:
        problems["client_secret"] = (
            f"give the client's {names.client_secret} or its {names.private_key} (one of them)"
        )
    alg: SigningAlg | None = None
    if signing_alg is not None and signing_alg.upper() not in SIGNING_ALGS:
        problems["signing_alg"] = f"{names.signing_alg} is RS256 or ES256, not '{signing_alg}'"
    elif signing_alg is not None and not private_key_pem:
        problems["signing_alg"] = f"{names.signing_alg} goes with {names.private_key}"
    if private_key_pem:
        try:
            checked_alg = None if "signing_alg" in problems else signing_alg
            alg = check_private_key(private_key_pem, checked_alg, names=names)
        except UsageError as error:
            problems.setdefault("private_key", str(error))
    if problems:
        return None, problems
    if private_key_pem:
        info = OAuthClientInformationFull(
            client_id=client_id,
            grant_types=["client_credentials"],
            token_endpoint_auth_method="private_key_jwt",
        )
        client = StoredClient(
            info=info,
            is_pre_registered=True,
            is_client_credentials=True,
            private_key_pem=private_key_pem,
            signing_alg=alg,
        )
        return client, problems
    info = OAuthClientInformationFull(
        client_id=client_id,
        client_secret=client_secret,
        grant_types=["client_credentials"],
        token_endpoint_auth_method="client_secret_basic",
    )
    return StoredClient(info=info, is_pre_registered=True, is_client_credentials=True), problems


def check_private_key(
    private_key_pem: str, signing_alg: str | None, *, names: FieldNames = CLI_NAMES
) -> SigningAlg:
    """The algorithm ``private_key_pem`` signs with: RS256 for RSA keys, ES256 for P-256 keys."""
    key = _load_key(private_key_pem)
    if isinstance(key, rsa.RSAPrivateKey):
        natural: SigningAlg = "RS256"
    elif isinstance(key.curve, ec.SECP256R1):
        natural = "ES256"
    else:
        raise UsageError("the private key must be an RSA key (RS256) or an EC P-256 key (ES256)")
    if signing_alg is not None and signing_alg.upper() != natural:
        raise UsageError(
            f"{names.signing_alg} {signing_alg} does not fit this key: it signs with {natural} "
            f"(RS256 needs an RSA key, ES256 an EC P-256 key)"
        )
    return natural


def sign_assertion(client: StoredClient, audience: str, *, lifetime_s: int = ASSERTION_LIFETIME_S) -> str:
    """An RFC 7523 client assertion: iss = sub = the client id, aud = the authorization server."""
    if not client.private_key_pem:
        raise UsageError(f"client '{client.info.client_id}' has no private key to sign with")
    alg = check_private_key(client.private_key_pem, client.signing_alg)
    key = _load_key(client.private_key_pem)
    now = int(time.time())
    header = {"alg": alg, "typ": "JWT"}
    claims = {
        "iss": client.info.client_id,
        "sub": client.info.client_id,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime_s,
        "jti": secrets.token_urlsafe(16),
    }
    signing_input = f"{_b64_json(header)}.{_b64_json(claims)}".encode()
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(_ES256_HALF_BYTES, "big") + s.to_bytes(_ES256_HALF_BYTES, "big")
    return f"{signing_input.decode()}.{_b64(signature)}"


def token_request(
    client: StoredClient,
    metadata: OAuthMetadata | None,
    *,
    resource: str | None,
    scope: str | None,
) -> tuple[dict[str, str], dict[str, str]]:
    """The form and headers of a client_credentials token request, the client authenticated.

    A secret goes as HTTP Basic (``client_secret_basic``) unless the authorization server
    advertises only ``client_secret_post``; a key signs an assertion for the server's issuer.
    """
    data = {"grant_type": "client_credentials", "client_id": client.info.client_id}
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if resource:
        data["resource"] = resource
    if scope:
        data["scope"] = scope
    if client.private_key_pem:
        if metadata is None:
            raise UsageError("private_key_jwt needs the authorization server's metadata (its issuer)")
        data["client_assertion_type"] = ASSERTION_TYPE
        data["client_assertion"] = sign_assertion(client, str(metadata.issuer))
        return data, headers
    secret = client.info.client_secret or ""
    methods = metadata.token_endpoint_auth_methods_supported if metadata else None
    if methods and "client_secret_basic" not in methods and "client_secret_post" in methods:
        data["client_secret"] = secret
        return data, headers
    pair = f"{_form_quote(client.info.client_id)}:{_form_quote(secret)}"
    headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    return data, headers


def _load_key(private_key_pem: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise UsageError(
            "the private key is not an unencrypted PEM private key (PKCS#8 or traditional); "
            "export it without a passphrase, e.g. `openssl pkcs8 -topk8 -nocrypt -in key.pem`"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise UsageError("the private key must be an RSA key (RS256) or an EC P-256 key (ES256)")
    return key


def _form_quote(value: str) -> str:
    return quote(value, safe="")  # RFC 6749 §2.3.1: form-encode before Basic


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64_json(value: Mapping[str, object]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())
