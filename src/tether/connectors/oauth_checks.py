"""Checks on each answer of an OAuth sign-in, made before the SDK's client reads it.

The ``mcp`` SDK does discovery, registration, PKCE and the code exchange; tether adds the
rules it promises on top: S256 or nothing, the issuer it asked for, a loopback redirect,
token answers that are tokens. Each broken rule is its own error class (and ``.code``).
"""

from __future__ import annotations

import json
from typing import Any, cast
from urllib.parse import urlsplit

import httpx2
from mcp.client.auth.utils import issuers_match
from mcp.shared.auth import OAuthMetadata
from pydantic import ValidationError

from tether.errors import AuthError, IssuerMismatch, PkceUnsupported, RedirectNotLoopback

METADATA_PATHS = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")


def is_metadata_request(request: httpx2.Request) -> bool:
    path = request.url.path
    return request.method == "GET" and any(marker in path for marker in METADATA_PATHS)


def check_server_metadata(
    response: httpx2.Response, *, expected_issuer: str, connector: str, needs_pkce: bool = True
) -> None:
    """An authorization server's metadata must name the issuer asked for and offer PKCE S256
    (``needs_pkce``: the code flow; the client_credentials grant has no code to protect)."""
    if response.status_code != 200:
        return  # the SDK tries the next well-known URL
    try:
        metadata = OAuthMetadata.model_validate_json(response.content)
    except ValidationError:
        return  # not metadata: the SDK moves on
    if not issuers_match(str(metadata.issuer), expected_issuer):
        raise IssuerMismatch(
            f"connector '{connector}': the authorization server metadata at {_origin(response)} names "
            f"issuer '{metadata.issuer}', not '{expected_issuer}'; tether does not sign in there"
        )
    if needs_pkce and "S256" not in (metadata.code_challenge_methods_supported or []):
        raise PkceUnsupported(
            f"connector '{connector}': the authorization server {metadata.issuer} does not advertise "
            "PKCE S256 (code_challenge_methods_supported); tether only signs in with S256"
        )


def check_registration(response: httpx2.Response, *, redirect_uri: str, connector: str) -> None:
    """A dynamic registration must succeed and keep tether's loopback redirect URI."""
    if response.status_code not in (200, 201):
        raise AuthError(
            f"connector '{connector}': the authorization server refused to register tether as a client "
            f"(HTTP {response.status_code}{_error_of(response)}); give a client id with "
            "`tether connector add ... --client-id`"
        )
    try:
        body: Any = json.loads(response.content)
    except ValueError:
        return  # the SDK reports an unreadable registration
    registered: object = cast(dict[str, Any], body).get("redirect_uris") if isinstance(body, dict) else None
    uris = [str(u) for u in cast(list[Any], registered)] if isinstance(registered, list) else []
    if uris and redirect_uri not in uris:
        raise RedirectNotLoopback(
            f"connector '{connector}': the authorization server registered other redirect URIs than "
            f"tether's loopback {redirect_uri}; tether does not send sign-ins anywhere else"
        )


def _origin(response: httpx2.Response) -> str:
    url = urlsplit(str(response.request.url))
    return f"{url.scheme}://{url.netloc}"


def _error_of(response: httpx2.Response) -> str:
    try:
        body: Any = json.loads(response.content)
    except ValueError:
        return ""
    if isinstance(body, dict) and body.get("error"):  # pyright: ignore[reportUnknownMemberType]
        return f": {str(body['error'])[:80]}"  # pyright: ignore[reportUnknownArgumentType]
    return ""
