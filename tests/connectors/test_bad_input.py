"""Bad input to a connector: each case is a clear error with a stable code, and nothing is lost."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import anyio
import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tests.connectors.conftest import login, remote, running, vault_for
from tests.connectors.servers import Browser, self_signed_certificate, serve_app, serve_tasks
from tether.config import Settings
from tether.connectors.netguard import NetworkGuard
from tether.connectors.oauth import ConnectorAuth
from tether.connectors.oauth_checks import check_registration
from tether.connectors.signin import Callback
from tether.demo.tasks_server import bind_loopback
from tether.errors import TetherError
from tether.types import SourceState

pytestmark = pytest.mark.anyio


async def _sign_in_fails(settings: Settings, browser: Browser | None = None, **quirks: object) -> TetherError:
    async with serve_tasks() as server:
        for name, value in quirks.items():
            setattr(server.quirks, name, value)
        vault = vault_for(settings.home, "tasks", server.mcp_url)
        with pytest.raises(TetherError) as raised:
            await login(vault, browser)
        assert vault.load_grant() is None
        return raised.value


async def test_an_unreachable_url_is_retried_and_says_so(settings: Settings) -> None:
    sock = bind_loopback()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    sock.close()  # nothing listens there now
    async with running(remote(vault_for(settings.home, "gone", url))) as source:
        assert source.status.state is SourceState.RESTARTING
        assert source.last_error is not None
        assert source.last_error.code == "connector_unreachable"
        with pytest.raises(TetherError) as raised:
            await source.call_tool("anything", {})
        assert raised.value.code == "connector_unreachable"


NOWHERE = "http://no-such-host.invalid/mcp"  # .invalid never resolves (RFC 6761)


async def test_a_host_name_that_does_not_resolve_is_a_dns_error_naming_the_host(settings: Settings) -> None:
    async with running(remote(vault_for(settings.home, "nowhere", NOWHERE))) as source:
        assert source.status.state is SourceState.RESTARTING
        assert source.last_error is not None
        assert source.last_error.code == "connector_unreachable"
        assert "DNS" in source.status.detail
        assert "no-such-host.invalid" in source.status.detail
        with pytest.raises(TetherError) as raised:
            await source.call_tool("anything", {})
        assert raised.value.code == "connector_unreachable"


async def test_signing_in_to_a_host_name_that_does_not_resolve_is_a_dns_error(settings: Settings) -> None:
    vault = vault_for(settings.home, "nowhere", NOWHERE)
    with pytest.raises(TetherError) as raised:
        await login(vault)
    assert raised.value.code == "connector_unreachable"
    assert "DNS" in str(raised.value)
    assert vault.load_grant() is None


async def test_a_certificate_nobody_vouches_for_is_a_tls_error(settings: Settings, tmp_path: Path) -> None:
    tls = self_signed_certificate(tmp_path)
    async with serve_app(lambda _base_url: Starlette(), tls=tls) as base_url:
        vault = vault_for(settings.home, "selfsigned", base_url + "/mcp")
        async with running(remote(vault)) as source:
            assert source.status.state is SourceState.RESTARTING
            assert source.last_error is not None
            assert source.last_error.code == "connector_unreachable"
            assert "TLS" in source.status.detail
            assert "certificate" in source.status.detail
        with pytest.raises(TetherError) as raised:
            await login(vault)
        assert raised.value.code == "connector_unreachable"
        assert "TLS" in str(raised.value)


async def test_an_html_page_is_not_an_mcp_server(settings: Settings) -> None:
    async def page(request: Request) -> Response:
        return HTMLResponse("<html><body>Welcome to our product!</body></html>")

    def build(_base_url: str) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", page, methods=["GET", "POST", "DELETE"])])

    async with serve_app(build) as base_url:
        source = remote(vault_for(settings.home, "site", base_url + "/"))
        async with running(source):
            assert source.status.state is SourceState.FAILED
            assert source.last_error is not None
            assert source.last_error.code == "not_mcp_server"


async def test_metadata_naming_another_issuer_is_refused(settings: Settings) -> None:
    assert (await _sign_in_fails(settings, wrong_issuer=True)).code == "issuer_mismatch"


async def test_a_server_without_s256_is_refused(settings: Settings) -> None:
    assert (await _sign_in_fails(settings, no_s256=True)).code == "pkce_unsupported"


async def test_a_garbage_token_response_is_refused(settings: Settings) -> None:
    assert (await _sign_in_fails(settings, garbage_tokens=True)).code == "token_response"


async def test_a_declined_consent_is_consent_denied(settings: Settings) -> None:
    assert (await _sign_in_fails(settings, Browser(decision="deny"))).code == "consent_denied"


async def test_an_answer_with_another_state_is_refused(settings: Settings) -> None:
    browser = Browser()
    browser.tamper = lambda url: url.replace("state=", "state=forged")
    assert (await _sign_in_fails(settings, browser)).code == "state_mismatch"


async def test_metadata_pointing_at_a_private_address_is_refused_without_going_there(
    settings: Settings,
) -> None:
    # 10.255.255.1 is never contacted: the guard refuses before any request leaves.
    error = await _sign_in_fails(settings, authorization_server="http://10.255.255.1/")
    assert error.code == "unsafe_url"


async def test_a_redirect_uri_that_is_not_loopback_is_refused(settings: Settings) -> None:
    class Elsewhere:
        redirect_uri = "https://evil.example/callback"

        async def open(self, authorization_url: str) -> None:
            raise AssertionError("never opened")

        async def wait_for_callback(self) -> Callback:
            raise AssertionError("never called")

    vault = vault_for(settings.home, "tasks", "http://127.0.0.1:9/mcp")
    with pytest.raises(TetherError) as raised:
        ConnectorAuth(vault, guard=NetworkGuard(vault.url), sign_in=Elsewhere())
    assert raised.value.code == "redirect_not_loopback"


async def test_an_authorization_server_down_during_refresh_keeps_the_tokens(settings: Settings) -> None:
    async with serve_tasks() as server:
        vault = vault_for(settings.home, "tasks", server.mcp_url)
        await login(vault)
        grant = vault.load_grant()
        assert grant is not None
        server.quirks.token_endpoint_down = True
        server.authority.grants.access.clear()
        vault.save_token(grant.token.model_copy(update={"expires_in": 0}))
        async with running(remote(vault)) as source:
            assert source.status.state is SourceState.RESTARTING
            assert source.last_error is not None
            assert source.last_error.code == "auth_server_unavailable"
            kept = vault.load_grant()
            assert kept is not None
            assert kept.token.refresh_token == grant.token.refresh_token
            server.quirks.token_endpoint_down = False
            source.reconnect()
            with anyio.fail_after(20):
                await source.wait_state(SourceState.RUNNING)
                assert (await source.call_tool("whoami", {})).text == "alice"


class _Resolver:
    def __init__(self, table: dict[str, Sequence[str]]) -> None:
        self.table = table

    async def __call__(self, host: str) -> Sequence[str]:
        return self.table.get(host, ())


@pytest.mark.parametrize(
    ("connector_url", "target", "is_allowed"),
    [
        ("https://mcp.example.com/mcp", "https://auth.example.com/", True),
        ("https://mcp.example.com/mcp", "http://127.0.0.1:8080/.well-known/x", False),
        ("https://mcp.example.com/mcp", "https://10.0.0.7/token", False),
        ("https://mcp.example.com/mcp", "https://169.254.169.254/latest", False),
        ("https://mcp.example.com/mcp", "https://internal.example.com/", False),  # resolves to 10.x
        ("https://mcp.example.com/mcp", "http://auth.example.com/", False),  # plain http off loopback
        ("http://127.0.0.1:8000/mcp", "http://127.0.0.1:8001/token", True),
        ("http://127.0.0.1:8000/mcp", "https://10.0.0.7/token", False),
        ("https://10.0.0.5/mcp", "https://10.0.0.7/token", True),
    ],
)
async def test_the_ssrf_guard(connector_url: str, target: str, is_allowed: bool) -> None:
    resolve = _Resolver(
        {
            "mcp.example.com": ["93.184.216.34"],
            "auth.example.com": ["93.184.216.35"],
            "internal.example.com": ["10.1.2.3"],
        }
    )
    guard = NetworkGuard(connector_url, resolve=resolve)
    if is_allowed:
        await guard.check(target)
    else:
        with pytest.raises(TetherError) as raised:
            await guard.check(target)
        assert raised.value.code == "unsafe_url"


async def test_the_ssrf_guard_can_be_lifted_for_local_development() -> None:
    guard = NetworkGuard("https://93.184.216.34/mcp", allow_private=True)
    await guard.check("https://10.0.0.7/token")


async def test_a_garbage_refresh_answer_keeps_the_tokens_and_says_why(settings: Settings) -> None:
    async with serve_tasks() as server:
        vault = vault_for(settings.home, "tasks", server.mcp_url)
        await login(vault)
        grant = vault.load_grant()
        assert grant is not None
        server.quirks.garbage_tokens = True
        server.authority.grants.access.clear()
        vault.save_token(grant.token.model_copy(update={"expires_in": 0}))
        async with running(remote(vault)) as source:
            assert source.last_error is not None
            assert source.last_error.code == "token_response"
            kept = vault.load_grant()
            assert kept is not None
            assert kept.token.refresh_token == grant.token.refresh_token


def test_a_registration_that_swaps_the_redirect_uri_is_refused() -> None:
    request = httpx2.Request("POST", "https://auth.example.com/register")
    answer = httpx2.Response(
        201,
        json={"client_id": "c1", "redirect_uris": ["https://evil.example/callback"]},
        request=request,
    )
    with pytest.raises(TetherError) as raised:
        check_registration(answer, redirect_uri="http://127.0.0.1:8123/callback", connector="tasks")
    assert raised.value.code == "redirect_not_loopback"
    kept = httpx2.Response(
        201, json={"client_id": "c1", "redirect_uris": ["http://127.0.0.1:8123/callback"]}, request=request
    )
    check_registration(kept, redirect_uri="http://127.0.0.1:8123/callback", connector="tasks")
