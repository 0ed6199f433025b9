"""The demo server's own OAuth 2.1 authorization server: clients, consent, codes and tokens.

Implements the ``mcp`` SDK's ``OAuthAuthorizationServerProvider`` in memory: dynamic client
registration, codes bound to PKCE and the RFC 8707 resource, refresh with rotation,
revocation, one subject per user, and service clients that get tokens for their own user with
the client_credentials grant. ``Quirks`` make it misbehave on purpose for tests.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    OAuthAuthorizationServerProvider,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

READ = "tasks:read"
WRITE = "tasks:write"
ALL_SCOPES = (READ, WRITE)
CODE_LIFETIME_S = 300


@dataclass
class Quirks:
    """Ways to make the server misbehave; tests flip them while it runs."""

    token_lifetime_s: int = 3600
    refresh_lifetime_s: int | None = None
    step_up: bool = False
    """Sign-ins start with tasks:read only; writing asks for tasks:write (403 insufficient_scope)."""
    no_s256: bool = False
    wrong_issuer: bool = False
    token_endpoint_down: bool = False
    garbage_tokens: bool = False
    authorization_server: str | None = None
    """Advertise this URL as the authorization server instead of the real one (SSRF tests)."""
    auto_approve_user: str | None = None
    """Approve every sign-in as this user without showing the consent page."""


@dataclass
class PendingConsent:
    client: OAuthClientInformationFull
    params: AuthorizationParams


@dataclass
class Grants:
    clients: dict[str, OAuthClientInformationFull] = field(
        default_factory=dict[str, OAuthClientInformationFull]
    )
    pending: dict[str, PendingConsent] = field(default_factory=dict[str, PendingConsent])
    codes: dict[str, AuthorizationCode] = field(default_factory=dict[str, AuthorizationCode])
    access: dict[str, AccessToken] = field(default_factory=dict[str, AccessToken])
    refresh: dict[str, RefreshToken] = field(default_factory=dict[str, RefreshToken])
    pairs: dict[str, str] = field(default_factory=dict[str, str])
    """access token -> its refresh token (and back), for revocation of both."""
    service_users: dict[str, str] = field(default_factory=dict[str, str])
    """client id of a service (client_credentials) client -> the user its tokens act as."""


class DemoAuthServer(OAuthAuthorizationServerProvider[AuthorizationCode, RefreshToken, AccessToken]):
    """``OAuthAuthorizationServerProvider`` for the tasks server."""

    def __init__(self, base_url: str, resource_url: str, quirks: Quirks) -> None:
        self.base_url = base_url.rstrip("/")
        self.resource_url = resource_url
        self.quirks = quirks
        self.grants = Grants()
        self.refresh_count = 0
        self.client_credentials_count = 0
        self.revoked: list[str] = []

    # -- clients ------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.grants.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        # RFC 7591 lets the server set the metadata: every client may ask for every scope.
        client_info.scope = " ".join(ALL_SCOPES)
        self.grants.clients[client_info.client_id] = client_info

    def register_service_client(self, client_id: str, client_secret: str, *, user: str | None = None) -> None:
        """A confidential client that gets tokens for ``user`` (default: its id) without a person."""
        self.grants.clients[client_id] = OAuthClientInformationFull(
            client_id=client_id,
            client_secret=client_secret,
            grant_types=["client_credentials"],
            token_endpoint_auth_method="client_secret_basic",
            scope=" ".join(ALL_SCOPES),
            redirect_uris=None,
        )
        self.grants.service_users[client_id] = user or client_id

    def issue_for_service(
        self, client: OAuthClientInformationFull, scope: str | None, resource: str | None
    ) -> OAuthToken:
        """The client_credentials grant (RFC 6749 §4.4): an access token, no refresh token."""
        user = self.grants.service_users.get(client.client_id)
        if user is None:
            raise TokenError("unauthorized_client", "this client may not use the client_credentials grant")
        scopes: list[str] = scope.split() if scope else list(ALL_SCOPES)
        if any(s not in ALL_SCOPES for s in scopes):
            raise TokenError("invalid_scope", f"scopes are {' '.join(ALL_SCOPES)}")
        self.client_credentials_count += 1
        return self._issue(client.client_id, scopes, user, resource, with_refresh=False)

    def purge_registrations(self) -> None:
        """Forget every registered client (their tokens stay valid until they expire)."""
        self.grants.clients.clear()

    # -- authorization ------------------------------------------------------------------

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if params.resource is not None and params.resource.rstrip("/") != self.resource_url.rstrip("/"):
            raise AuthorizeError("invalid_target", f"this server only issues tokens for {self.resource_url}")
        if self.quirks.auto_approve_user:
            return self.approve(PendingConsent(client, params), self.quirks.auto_approve_user)
        request_id = secrets.token_urlsafe(16)
        self.grants.pending[request_id] = PendingConsent(client, params)
        return f"{self.base_url}/consent?request={request_id}"

    def take_pending(self, request_id: str) -> PendingConsent | None:
        return self.grants.pending.pop(request_id, None)

    def approve(self, pending: PendingConsent, user: str) -> str:
        params = pending.params
        code = secrets.token_urlsafe(32)
        self.grants.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or self.default_scopes(),
            expires_at=time.time() + CODE_LIFETIME_S,
            client_id=pending.client.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject=user,
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    def deny(self, pending: PendingConsent) -> str:
        return construct_redirect_uri(
            str(pending.params.redirect_uri),
            error="access_denied",
            error_description="the user declined",
            state=pending.params.state,
        )

    def default_scopes(self) -> list[str]:
        return [READ] if self.quirks.step_up else list(ALL_SCOPES)

    # -- tokens -------------------------------------------------------------------------

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        return self.grants.codes.get(authorization_code)

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        self.grants.codes.pop(authorization_code.code, None)
        return self._issue(
            client.client_id,
            authorization_code.scopes,
            authorization_code.subject,
            authorization_code.resource,
        )

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        return self.grants.refresh.get(refresh_token)

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        # Rotation: the old refresh token (and its access token) stop working now.
        self._drop(refresh_token.token)
        self.refresh_count += 1
        return self._issue(client.client_id, scopes, refresh_token.subject, refresh_token.resource)

    async def load_access_token(self, token: str) -> AccessToken | None:
        found = self.grants.access.get(token)
        if found is None or (found.expires_at is not None and found.expires_at < time.time()):
            return None
        return found

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        self.revoked.append(token.token)
        self._drop(token.token)

    def _issue(
        self,
        client_id: str,
        scopes: list[str],
        subject: str | None,
        resource: str | None,
        *,
        with_refresh: bool = True,
    ) -> OAuthToken:
        if resource is None or resource.rstrip("/") != self.resource_url.rstrip("/"):
            raise TokenError("invalid_target", f"tokens are only issued for {self.resource_url}")
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = int(time.time())
        lifetime = self.quirks.token_lifetime_s
        self.grants.access[access] = AccessToken(
            token=access,
            client_id=client_id,
            scopes=scopes,
            expires_at=now + lifetime,
            resource=resource,
            subject=subject,
        )
        if not with_refresh:
            return OAuthToken(access_token=access, expires_in=lifetime, scope=" ".join(scopes))
        refresh_expiry = now + self.quirks.refresh_lifetime_s if self.quirks.refresh_lifetime_s else None
        self.grants.refresh[refresh] = RefreshToken(
            token=refresh,
            client_id=client_id,
            scopes=scopes,
            expires_at=refresh_expiry,
            resource=resource,
            subject=subject,
        )
        self.grants.pairs[access], self.grants.pairs[refresh] = refresh, access
        return OAuthToken(
            access_token=access, expires_in=lifetime, scope=" ".join(scopes), refresh_token=refresh
        )

    def _drop(self, token: str) -> None:
        other = self.grants.pairs.pop(token, None)
        for value in (token, other):
            if value is not None:
                self.grants.access.pop(value, None)
                self.grants.refresh.pop(value, None)
                self.grants.pairs.pop(value, None)
