"""Talking to a token endpoint: refresh (with rotation), revoke (RFC 7009), read its answers.

Every answer is checked here before anything else reads it, so a garbage response or an
error becomes a typed TetherError and a token never ends up in an exception message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
from mcp.shared.auth import OAuthToken
from pydantic import ValidationError

from tether.errors import AuthServerUnavailable, NeedsSignIn, TokenResponseError

PrepareAuth = Callable[[dict[str, str], dict[str, str]], tuple[dict[str, str], dict[str, str]]]
"""Adds client authentication (client_secret_post / basic) to a token request's form and headers."""


class ClientRejected(NeedsSignIn):
    """The authorization server no longer knows the client (``invalid_client``): register again."""


@dataclass(frozen=True, slots=True)
class TokenError:
    status: int
    error: str
    description: str


def read_token_error(response: httpx2.Response) -> TokenError:
    error, description = "", ""
    try:
        body: Any = json.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = str(body.get("error", ""))  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        description = str(body.get("error_description", ""))  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
    return TokenError(response.status_code, error, description[:200])


def read_token(response: httpx2.Response, *, connector: str, server: str) -> OAuthToken:
    """The tokens in a 200 answer, or TokenResponseError naming what was wrong (never the body)."""
    try:
        token = OAuthToken.model_validate_json(response.content)
    except ValidationError as error:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "body" for e in error.errors()})
        raise TokenResponseError(
            f"connector '{connector}': the token endpoint of {server} answered something that is not "
            f"a token response (bad or missing: {', '.join(fields)}); tether kept what it had"
        ) from None
    if not token.access_token:
        raise TokenResponseError(f"connector '{connector}': {server} answered an empty access token")
    return token


def check_token_answer(response: httpx2.Response, *, connector: str, server: str) -> OAuthToken:
    """Turn a token endpoint's answer into tokens or the right error."""
    if response.status_code >= 500 or response.status_code == 429:
        raise AuthServerUnavailable(
            f"connector '{connector}': the authorization server {server} answered HTTP "
            f"{response.status_code}; tether keeps the current sign-in and tries again later"
        )
    if response.status_code != 200:
        problem = read_token_error(response)
        reason = f"{problem.error or 'HTTP ' + str(problem.status)}" + (
            f" ({problem.description})" if problem.description else ""
        )
        if problem.error == "invalid_client":
            raise ClientRejected(
                f"connector '{connector}' needs sign-in: {server} no longer knows tether's client "
                f"registration ({reason}); run `tether connector login {connector}`"
            )
        if problem.error == "invalid_grant":
            raise NeedsSignIn(
                f"connector '{connector}' needs sign-in: the sign-in expired or was revoked ({reason}); "
                f"run `tether connector login {connector}`"
            )
        raise TokenResponseError(f"connector '{connector}': the token endpoint of {server} refused: {reason}")
    return read_token(response, connector=connector, server=server)


async def refresh(
    http: httpx2.AsyncClient,
    *,
    token_endpoint: str,
    refresh_token: str,
    client_id: str,
    resource: str | None,
    prepare_auth: PrepareAuth,
    connector: str,
) -> OAuthToken:
    """Exchange ``refresh_token`` for new tokens (the server may rotate the refresh token)."""
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    if resource:
        data["resource"] = resource
    data, headers = prepare_auth(data, {"Content-Type": "application/x-www-form-urlencoded"})
    server = httpx2.URL(token_endpoint).host
    try:
        response = await http.post(token_endpoint, data=data, headers=headers)
    except httpx2.TransportError as error:
        raise AuthServerUnavailable(
            f"connector '{connector}': cannot reach the authorization server {server} to refresh the "
            f"sign-in ({type(error).__name__}); tether keeps the current sign-in and tries again later"
        ) from None
    return check_token_answer(response, connector=connector, server=server)


async def revoke(
    http: httpx2.AsyncClient,
    *,
    revocation_endpoint: str,
    tokens: list[tuple[str, str]],
    client_id: str,
    prepare_auth: PrepareAuth,
) -> bool:
    """Revoke each ``(token, type_hint)``; True when the server confirmed every one (RFC 7009)."""
    confirmed = True
    for token, hint in tokens:
        data = {"token": token, "token_type_hint": hint, "client_id": client_id}
        data, headers = prepare_auth(data, {"Content-Type": "application/x-www-form-urlencoded"})
        try:
            response = await http.post(revocation_endpoint, data=data, headers=headers)
        except httpx2.TransportError:
            confirmed = False
            continue
        confirmed = confirmed and response.status_code == 200
    return confirmed
