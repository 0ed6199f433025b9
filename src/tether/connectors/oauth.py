"""The OAuth 2.1 client of one connector: the SDK's ``OAuthClientProvider`` with tether's rules.

Requests go out with the stored access token, refreshed ahead of expiry (also after a
restart) under a lock so a rotated refresh token is used once. When the server still
refuses, a source without a person at hand records ``NeedsSignIn``; with a ``SignIn`` the
SDK runs discovery, registration and the code flow while every step is checked (SSRF
guard, issuer, S256, loopback redirect, state, token answers). A machine-to-machine
connector (a stored client_credentials client) needs no person: it asks the token endpoint
again whenever its token is due or refused. Tokens are never logged.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncGenerator
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2
from mcp.client.auth import OAuthClientProvider, OAuthFlowError
from mcp.client.auth.oauth2 import OAuthContext
from mcp.client.auth.utils import (
    extract_field_from_www_auth,
    is_valid_client_metadata_url,
    issuers_match,
    union_scopes,
)
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthMetadata,
    OAuthToken,
)
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from pydantic import AnyUrl, ValidationError

from tether.connectors import grants, machine
from tether.connectors.grants import ClientRejected
from tether.connectors.netguard import NetworkGuard
from tether.connectors.oauth_checks import check_registration, check_server_metadata, is_metadata_request
from tether.connectors.signin import SignIn, check_loopback_redirect
from tether.connectors.vault import ConnectorVault, StoredClient
from tether.errors import (
    AuthError,
    AuthServerUnavailable,
    ClientCredentialsRefused,
    ConsentDenied,
    IssuerMismatch,
    NeedsSignIn,
    StateMismatch,
    TetherError,
    UsageError,
)

REFRESH_MARGIN_S = 60.0
"""Refresh this long before the access token expires (at most half its lifetime)."""
_UNUSED_REDIRECT = "http://127.0.0.1/callback"  # a source without SignIn never registers


class NeedsMorePermission(NeedsSignIn):
    """The server wants scopes the sign-in does not grant (403 insufficient_scope): other tools still work."""


class _Context(OAuthContext):
    refresh_margin_s: float = REFRESH_MARGIN_S

    def update_token_expiry(self, token: OAuthToken) -> None:
        if token.expires_in is None:
            self.token_expiry_time = None
            return
        margin = min(self.refresh_margin_s, token.expires_in / 2)
        self.token_expiry_time = time.time() + token.expires_in - margin


class _VaultStorage:
    """The SDK's TokenStorage over the connector's vault."""

    def __init__(self, vault: ConnectorVault) -> None:
        self.vault = vault

    async def get_tokens(self) -> OAuthToken | None:
        grant = self.vault.load_grant()
        return grant.token if grant else None

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.vault.save_token(tokens)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        client = self.vault.load_client()
        return client.info if client else None

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        port = urlsplit(str(client_info.redirect_uris[0])).port if client_info.redirect_uris else None
        self.vault.save_client(StoredClient(info=client_info, callback_port=port))


class ConnectorAuth(OAuthClientProvider):
    """httpx2 auth for one connector. ``last_error`` says why a request went out unauthorized.

    A sign-in uses, in this order: the client id the user registered (stored pre-registered),
    else ``client_metadata_url`` as a URL client id when the authorization server advertises
    ``client_id_metadata_document_supported``, else Dynamic Client Registration.
    """

    def __init__(
        self,
        vault: ConnectorVault,
        *,
        guard: NetworkGuard,
        sign_in: SignIn | None = None,
        raise_errors: bool = False,
        refresh_margin_s: float = REFRESH_MARGIN_S,
        http_timeout_s: float = 30.0,
        client_metadata_url: str | None = None,
    ) -> None:
        redirect_uri = check_loopback_redirect(sign_in.redirect_uri) if sign_in else _UNUSED_REDIRECT
        if client_metadata_url and not is_valid_client_metadata_url(client_metadata_url):
            raise UsageError(
                f"oauth_client_metadata_url '{client_metadata_url}' must be an https URL with a path "
                "(where tether's Client ID Metadata Document is published); fix or clear the setting"
            )
        metadata = OAuthClientMetadata(
            client_name="tether",
            redirect_uris=[AnyUrl(redirect_uri)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        )
        super().__init__(
            vault.url,
            metadata,
            _VaultStorage(vault),
            redirect_handler=self._show_authorization_page,
            callback_handler=self._receive_callback,
            client_metadata_url=client_metadata_url or None,
        )
        fields = {f.name: getattr(self.context, f.name) for f in dataclasses.fields(self.context) if f.init}
        self.context = _Context(**fields)
        self.context.refresh_margin_s = refresh_margin_s
        self.vault = vault
        self.guard = guard
        self.sign_in = sign_in
        self.raise_errors = raise_errors
        self.http_timeout_s = http_timeout_s
        self.last_error: TetherError | None = None
        self._refresh_lock = anyio.Lock()
        self._sent_state: str | None = None
        self._is_fresh = False
        self._machine: StoredClient | None = None
        """The client_credentials client when this connector is machine-to-machine."""

    @property
    def name(self) -> str:
        return self.vault.name

    def start_fresh(self) -> None:
        """Ignore stored tokens: the next challenge runs a new sign-in (``tether connector login``)."""
        self._initialized = False
        self._is_fresh = True

    def forget_loaded(self) -> None:
        """Read the tokens and registration from the secret store again (another process signed in)."""
        self._initialized = False

    def take_error(self) -> TetherError | None:
        """The reason the last refused request was refused, once."""
        error, self.last_error = self.last_error, None
        return error

    # -- loading and refreshing ---------------------------------------------------------

    async def _initialize(self) -> None:
        await super()._initialize()
        stored = self.vault.load_client()
        self._machine = stored if stored is not None and stored.is_client_credentials else None
        if self._machine is not None:
            self.context.client_metadata.grant_types = ["client_credentials"]
        if self._is_fresh:
            self.context.clear_tokens()
            return
        grant = self.vault.load_grant()
        if grant is None:
            return
        self.context.token_expiry_time = (
            grant.expires_at - min(self.context.refresh_margin_s, (grant.token.expires_in or 0) / 2)
            if grant.expires_at is not None
            else None
        )
        self.context.oauth_metadata = self.context.oauth_metadata or grant.auth_server
        if self.context.protected_resource_metadata is None and grant.resource_metadata is not None:
            self.context.protected_resource_metadata = grant.resource_metadata
            self.context.auth_server_url = str(grant.resource_metadata.authorization_servers[0])

    async def ensure_fresh(self, *, refused: str | None = None) -> bool:
        """Refresh the access token when it is due, or when ``refused`` (the access token a server
        just refused) is still the current one; True when there is a newer token to try."""
        if self._initialized and refused is None and not self._is_refresh_due():
            return False  # the common case, on every request: no lock to take
        async with self._refresh_lock:
            if not self._initialized:
                await self._initialize()
            tokens = self.context.current_tokens
            if tokens is None:
                return False
            if refused is not None and tokens.access_token != refused:
                return True  # another request refreshed meanwhile
            if self.context.is_token_valid() and refused is None:
                return False
            if self._machine is not None:
                if self.context.oauth_metadata is None:
                    return False  # the next challenge runs discovery, then asks for a token
                await self._ask_for_token(self._machine)
                return True
            if not (tokens.refresh_token and self.context.client_info):
                return False
            try:
                await self._refresh(tokens.refresh_token, self.context.client_info)
            except ClientRejected:
                self._forget_client()
                self._forget_grant()
                raise
            except NeedsSignIn:
                self._forget_grant()
                raise
            return True

    def _is_refresh_due(self) -> bool:
        tokens = self.context.current_tokens
        return tokens is not None and not self.context.is_token_valid()

    async def _reload_if_signed_in_elsewhere(self, sent: str | None) -> bool:
        """True when the secret store holds another access token than ``sent`` (a new sign-in)."""
        grant = self.vault.load_grant()
        if grant is None or grant.token.access_token == sent or self._is_fresh:
            return False
        async with self._refresh_lock:
            await self._initialize()
        return True

    async def _refresh(self, refresh_token: str, client: OAuthClientInformationFull) -> None:
        token_endpoint = self._get_token_endpoint()
        await self.guard.check(token_endpoint)
        resource = (
            self.context.get_resource_url()
            if self.context.should_include_resource_param(self.context.protocol_version)
            else None
        )
        async with httpx2.AsyncClient(timeout=self.http_timeout_s) as http:
            token = await grants.refresh(
                http,
                token_endpoint=token_endpoint,
                refresh_token=refresh_token,
                client_id=client.client_id,
                resource=resource,
                prepare_auth=self.context.prepare_token_auth,
                connector=self.name,
            )
        grant = self.vault.save_token(token)  # keeps the old refresh token when not rotated
        self.context.current_tokens = grant.token
        self.context.update_token_expiry(grant.token)

    async def _ask_for_token(self, client: StoredClient) -> None:
        """A machine-to-machine connector's new token: the client_credentials grant, no person."""
        token_endpoint = self._get_token_endpoint()
        await self.guard.check(token_endpoint)
        granted = self.context.current_tokens.scope if self.context.current_tokens else None
        data, headers = machine.token_request(
            client,
            self.context.oauth_metadata,
            resource=self._resource(),
            scope=granted or self.context.client_metadata.scope,
        )
        async with httpx2.AsyncClient(timeout=self.http_timeout_s) as http:
            try:
                response = await http.post(token_endpoint, data=data, headers=headers)
            except httpx2.TransportError as error:
                raise AuthServerUnavailable(
                    f"connector '{self.name}': cannot reach the authorization server "
                    f"{httpx2.URL(token_endpoint).host} for a new token ({type(error).__name__}); "
                    "tether tries again later"
                ) from None
        token = self._read_machine_token(response)
        grant = self.vault.save_token(token)
        self.context.current_tokens = grant.token
        self.context.update_token_expiry(grant.token)

    def _read_machine_token(self, response: httpx2.Response) -> OAuthToken:
        """The token of a client_credentials answer; a refused client is the user's to fix."""
        metadata = self.context.oauth_metadata
        server = str(metadata.issuer) if metadata else response.request.url.host
        problem = grants.read_token_error(response) if response.status_code in (400, 401) else None
        if problem is not None and problem.error in ("invalid_client", "unauthorized_client"):
            what = "key" if self._machine is not None and self._machine.private_key_pem else "secret"
            detail = f"{problem.error}" + (f": {problem.description}" if problem.description else "")
            raise ClientCredentialsRefused(
                f"connector '{self.name}': the client id or {what} was refused by {server} ({detail}): "
                f"check them with `tether connector edit {self.name}`"
            )
        return grants.check_token_answer(response, connector=self.name, server=server)

    def _resource(self) -> str | None:
        if self.context.should_include_resource_param(self.context.protocol_version):
            return self.context.get_resource_url()
        return None

    def _forget_grant(self) -> None:
        self.vault.forget_grant()
        self.context.clear_tokens()

    def _forget_client(self) -> None:
        stored = self.vault.load_client()
        if stored is not None and stored.is_pre_registered:
            return  # the user's own client id: keep it, the message says to check it
        self.vault.forget_client()
        self.context.client_info = None

    # -- the flow -----------------------------------------------------------------------

    async def _auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        self.context.protocol_version = (
            request.headers.get(MCP_PROTOCOL_VERSION_HEADER) or self.context.protocol_version
        )
        try:
            await self.ensure_fresh()
        except TetherError as error:
            if self.raise_errors and not isinstance(error, NeedsSignIn):
                raise
            self.last_error = error  # the server decides whether the current token still works
        sent = self._add_token(request)
        response = yield request
        if not _is_challenge(response):
            return
        if await self._reload_if_signed_in_elsewhere(sent):
            sent = self._add_token(request)
            response = yield request
            if not _is_challenge(response):
                return
        if response.status_code == 401 and sent and not isinstance(self.last_error, AuthServerUnavailable):
            try:
                refreshed = await self.ensure_fresh(refused=sent)
            except TetherError as error:
                refreshed, self.last_error = False, error
            if refreshed:
                self._add_token(request)
                response = yield request
                if not _is_challenge(response):
                    return
        if self.sign_in is None and self._machine is None:
            self._record_refusal(response)
            return
        # A person is at hand (or no person is needed): the SDK runs discovery, registration and
        # the code flow (or the client_credentials grant), checked.
        failure: TetherError | None = None
        inner = super()._auth_flow(request)
        try:
            outgoing = await inner.__anext__()
            while True:
                if outgoing is not request:
                    await self._check_outgoing(outgoing)
                response = yield outgoing
                if outgoing is not request:
                    await self._check_answer(outgoing, response)
                outgoing = await inner.asend(response)
        except StopAsyncIteration:
            pass
        except OAuthFlowError as error:
            failure = AuthError(f"connector '{self.name}': signing in failed: {error}")
        except TetherError as error:
            failure = error
        finally:
            await inner.aclose()
        if failure is None:
            return
        if self.raise_errors:
            raise failure
        self.last_error = failure
        yield request  # the request still needs its own (refused) answer

    async def _check_outgoing(self, outgoing: httpx2.Request) -> None:
        await self.guard.check(str(outgoing.url))
        if outgoing.headers.get("authorization", "").lower().startswith("bearer "):
            raise AuthError(f"connector '{self.name}': refusing to send a token to {outgoing.url.host}")
        if self._machine is not None and outgoing.method == "POST" and self._is_registration(outgoing):
            raise AuthError(
                f"connector '{self.name}': its client credentials do not fit the authorization server "
                f"{outgoing.url.host}; check them with `tether connector edit {self.name}`"
            )

    async def _check_answer(self, outgoing: httpx2.Request, response: httpx2.Response) -> None:
        await response.aread()
        if is_metadata_request(outgoing):
            check_server_metadata(
                response,
                expected_issuer=self._expected_issuer(),
                connector=self.name,
                needs_pkce=self._machine is None,
            )
            self._check_bound_issuer(response)
        elif outgoing.method == "POST" and self._is_registration(outgoing):
            check_registration(response, redirect_uri=self._redirect_uri(), connector=self.name)
        elif outgoing.method == "POST" and str(outgoing.url) == self._get_token_endpoint():
            if self._machine is not None:
                self._read_machine_token(response)
                return
            try:
                grants.check_token_answer(response, connector=self.name, server=outgoing.url.host)
            except ClientRejected:
                self._forget_client()
                raise

    def _redirect_uri(self) -> str:
        uris = self.context.client_metadata.redirect_uris or []
        return str(uris[0]) if uris else _UNUSED_REDIRECT

    def _is_registration(self, outgoing: httpx2.Request) -> bool:
        metadata = self.context.oauth_metadata
        endpoint = metadata.registration_endpoint if metadata else None
        return str(outgoing.url) == str(endpoint) if endpoint else outgoing.url.path == "/register"

    async def _perform_authorization(self) -> httpx2.Request:
        wanted = self.vault.load_wanted_scope()
        if wanted:
            self.context.client_metadata.scope = union_scopes(self.context.client_metadata.scope, wanted)
        if self._machine is not None:
            data, headers = machine.token_request(
                self._machine,
                self.context.oauth_metadata,
                resource=self._resource(),
                scope=self.context.client_metadata.scope,
            )
            return httpx2.Request("POST", self._get_token_endpoint(), data=data, headers=headers)
        return await super()._perform_authorization()

    async def _handle_token_response(self, response: httpx2.Response) -> None:
        await super()._handle_token_response(response)
        self.vault.save_servers(self.context.oauth_metadata, self.context.protected_resource_metadata)
        self.vault.save_wanted_scope(None)
        metadata = self.context.oauth_metadata
        if self._machine is not None and self._machine.info.issuer is None and metadata is not None:
            # The credentials worked there: from now on they are only ever sent to that issuer.
            info = self._machine.info.model_copy(update={"issuer": str(metadata.issuer)})
            self._machine = self._machine.model_copy(update={"info": info})
            self.vault.save_client(self._machine)

    def _select_authorization_server(self, advertised: list[str]) -> str:
        bound = self._machine.info.issuer if self._machine is not None else None
        return next((a for a in advertised if bound and issuers_match(a, bound)), advertised[0])

    def _check_bound_issuer(self, response: httpx2.Response) -> None:
        """A machine client's credentials go only to the issuer that accepted them first."""
        bound = self._machine.info.issuer if self._machine is not None else None
        if bound is None or response.status_code != 200:
            return
        try:
            issuer = str(OAuthMetadata.model_validate_json(response.content).issuer)
        except ValidationError:
            return
        if not issuers_match(issuer, bound):
            raise IssuerMismatch(
                f"connector '{self.name}': its server now sends tether to the authorization server "
                f"{issuer}, but its client credentials belong to {bound}; tether does not send them "
                "there. If that move is right, give the client again with "
                f"`tether connector edit {self.name}`"
            )

    async def _show_authorization_page(self, url: str) -> None:
        assert self.sign_in is not None
        await self.guard.check(url)
        self._sent_state = parse_qs(urlsplit(url).query).get("state", [None])[0]
        await self.sign_in.open(url)

    async def _receive_callback(self) -> AuthorizationCodeResult:
        assert self.sign_in is not None
        callback = await self.sign_in.wait_for_callback()
        if callback.error:
            detail = f" ({callback.error_description})" if callback.error_description else ""
            if callback.error == "access_denied":
                raise ConsentDenied(f"connector '{self.name}': the sign-in was declined{detail}")
            raise AuthError(
                f"connector '{self.name}': the authorization server said {callback.error}{detail}"
            )
        if callback.state is None or callback.state != self._sent_state:
            raise StateMismatch(
                f"connector '{self.name}': the sign-in answer does not carry the state tether sent; "
                "it may come from another site, so it was ignored"
            )
        metadata = self.context.oauth_metadata
        if callback.iss is not None and metadata is not None and callback.iss != str(metadata.issuer):
            raise IssuerMismatch(f"connector '{self.name}': the sign-in answer names issuer '{callback.iss}'")
        if not callback.code:
            raise AuthError(f"connector '{self.name}': the sign-in answer carries no authorization code")
        return AuthorizationCodeResult(code=callback.code, state=callback.state, iss=callback.iss)

    # -- helpers ------------------------------------------------------------------------

    def _add_token(self, request: httpx2.Request) -> str | None:
        """Put the access token on ``request``; return it (None when there is none to send)."""
        tokens = self.context.current_tokens
        if tokens is None or not tokens.access_token:
            return None
        if not _same_origin(str(request.url), self.vault.url):
            return None  # tokens go to the server they were issued for, nowhere else
        request.headers["Authorization"] = f"Bearer {tokens.access_token}"
        return tokens.access_token

    def _record_refusal(self, response: httpx2.Response) -> None:
        if isinstance(self.last_error, AuthServerUnavailable | AuthError):
            return  # a more precise reason is known already
        how = f"run `tether connector login {self.name}`"
        if response.status_code == 403:
            granted = self.context.current_tokens.scope if self.context.current_tokens else None
            wanted = union_scopes(granted, extract_field_from_www_auth(response, "scope"))
            self.vault.save_wanted_scope(wanted)
            self.last_error = NeedsMorePermission(
                f"connector '{self.name}' needs sign-in with more permissions "
                f"({wanted or 'more scopes'}): {how}"
            )
        elif self.context.current_tokens is None:
            self.last_error = NeedsSignIn(f"connector '{self.name}' needs sign-in: {how}")
        else:
            self.last_error = NeedsSignIn(
                f"connector '{self.name}' needs sign-in again (not accepted): {how}"
            )


def _is_challenge(response: httpx2.Response) -> bool:
    if response.status_code == 401:
        return True
    return (
        response.status_code == 403 and extract_field_from_www_auth(response, "error") == "insufficient_scope"
    )


def _same_origin(a: str, b: str) -> bool:
    x, y = httpx2.URL(a), httpx2.URL(b)
    return (x.scheme, x.host, x.port) == (y.scheme, y.host, y.port)
