"""One connector's secrets: its OAuth grant, its client registration and its static headers.

Everything lives in the SecretStore under ``connector/<name>/...`` as JSON; nothing here
ever reaches the database or a log. A grant remembers the URL it was issued for and is not
handed out for any other.
"""

from __future__ import annotations

import json
import time
from typing import Any, TypeVar, cast

from mcp.shared.auth import OAuthClientInformationFull, OAuthMetadata, OAuthToken, ProtectedResourceMetadata
from pydantic import BaseModel, ValidationError

from tether.core.storage import SecretStore

_M = TypeVar("_M", bound=BaseModel)


class StoredGrant(BaseModel):
    """Tokens plus what is needed to refresh and revoke them after a restart."""

    token: OAuthToken
    resource: str
    """The connector URL the tokens were issued for; they are never sent anywhere else."""
    expires_at: float | None = None
    auth_server: OAuthMetadata | None = None
    resource_metadata: ProtectedResourceMetadata | None = None


class StoredClient(BaseModel):
    """A client registration: given by the user (pre-registered) or obtained by DCR."""

    info: OAuthClientInformationFull
    is_pre_registered: bool = False
    callback_port: int | None = None
    """The loopback port of the redirect URI this client was registered with."""
    is_client_credentials: bool = False
    """A machine-to-machine client: tokens come from the client_credentials grant, no person signs in."""
    private_key_pem: str | None = None
    """For ``private_key_jwt``: the PEM private key that signs the client assertions."""
    signing_alg: str | None = None
    """For ``private_key_jwt``: RS256 or ES256."""


class ConnectorVault:
    """Typed access to the secrets of the connector ``name`` at ``url``."""

    def __init__(self, secrets: SecretStore, name: str, url: str) -> None:
        self._secrets = secrets
        self.name = name
        self.url = url

    def _key(self, what: str) -> str:
        return f"connector/{self.name}/{what}"

    # -- grant ------------------------------------------------------------------------------

    def load_grant(self) -> StoredGrant | None:
        grant = self._load(self._key("tokens"), StoredGrant)
        if grant is None or grant.resource != self.url:
            return None  # issued for another URL: never present it here
        return grant

    def save_token(self, token: OAuthToken) -> StoredGrant:
        """Store new tokens, keeping the refresh token and metadata when the answer omits them."""
        previous = self.load_grant()
        if token.refresh_token is None and previous is not None:
            token = token.model_copy(update={"refresh_token": previous.token.refresh_token})
        grant = StoredGrant(
            token=token,
            resource=self.url,
            expires_at=time.time() + token.expires_in if token.expires_in is not None else None,
            auth_server=previous.auth_server if previous else None,
            resource_metadata=previous.resource_metadata if previous else None,
        )
        self._save(self._key("tokens"), grant)
        return grant

    def save_servers(
        self, auth_server: OAuthMetadata | None, resource_metadata: ProtectedResourceMetadata | None
    ) -> None:
        grant = self.load_grant()
        if grant is not None:
            self._save(
                self._key("tokens"),
                grant.model_copy(update={"auth_server": auth_server, "resource_metadata": resource_metadata}),
            )

    def forget_grant(self) -> None:
        self._secrets.delete_secret(self._key("tokens"))

    def grant_fingerprint(self) -> str | None:
        """Changes whenever the stored grant does (another process signed in or out)."""
        return self._secrets.get_secret(self._key("tokens"))

    # -- client -----------------------------------------------------------------------------

    def load_client(self) -> StoredClient | None:
        return self._load(self._key("client"), StoredClient)

    def save_client(self, client: StoredClient) -> None:
        self._save(self._key("client"), client)

    def forget_client(self) -> None:
        self._secrets.delete_secret(self._key("client"))

    # -- wanted scope (a step-up that waits for the next sign-in) ----------------------------

    def load_wanted_scope(self) -> str | None:
        return self._secrets.get_secret(self._key("scope"))

    def save_wanted_scope(self, scope: str | None) -> None:
        if scope:
            self._secrets.set_secret(self._key("scope"), scope)
        else:
            self._secrets.delete_secret(self._key("scope"))

    # -- static headers ---------------------------------------------------------------------

    def load_headers(self) -> dict[str, str]:
        raw = self._secrets.get_secret(self._key("headers"))
        if not raw:
            return {}
        try:
            loaded = json.loads(raw)
        except json.JSONDecodeError:
            return {}
        if not isinstance(loaded, dict):
            return {}
        return {str(k): str(v) for k, v in cast(dict[Any, Any], loaded).items()}

    def save_headers(self, headers: dict[str, str]) -> None:
        if headers:
            self._secrets.set_secret(self._key("headers"), json.dumps(headers))
        else:
            self._secrets.delete_secret(self._key("headers"))

    def forget_all(self) -> None:
        for what in ("tokens", "client", "scope", "headers"):
            self._secrets.delete_secret(self._key(what))

    # -- JSON -------------------------------------------------------------------------------

    def _load(self, key: str, model: type[_M]) -> _M | None:
        raw = self._secrets.get_secret(key)
        if not raw:
            return None
        try:
            return model.model_validate_json(raw)
        except ValidationError:
            return None  # unreadable: behave as if it were not there (a new sign-in replaces it)

    def _save(self, key: str, value: BaseModel) -> None:
        self._secrets.set_secret(key, value.model_dump_json(exclude_none=True))
