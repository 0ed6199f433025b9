"""Which client id a sign-in uses: the user's own, else tether's Client ID Metadata Document where
the authorization server supports it, else Dynamic Client Registration (the conformance suite's
``auth/basic-cimd`` and ``auth/pre-registration`` scenarios cover the first two end to end)."""

from __future__ import annotations

import anyio
import anyio.abc
import pytest
from mcp.shared.auth import OAuthClientInformationFull

from tests.connectors.conftest import vault_for
from tests.connectors.servers import WAIT_S, Browser, serve_tasks
from tether.config import Settings
from tether.connectors.login import sign_in
from tether.connectors.netguard import NetworkGuard
from tether.connectors.oauth import ConnectorAuth
from tether.connectors.vault import StoredClient
from tether.errors import TetherError

pytestmark = pytest.mark.anyio

METADATA_URL = "https://tether.example/oauth/client.json"


@pytest.mark.parametrize("url", ["http://tether.example/client.json", "https://tether.example/", "not a url"])
async def test_a_client_metadata_url_that_is_not_https_with_a_path_is_refused(
    settings: Settings, url: str
) -> None:
    vault = vault_for(settings.home, "tasks", "http://127.0.0.1:9/mcp")
    with pytest.raises(TetherError) as raised:
        ConnectorAuth(vault, guard=NetworkGuard(vault.url), client_metadata_url=url)
    assert raised.value.code == "usage"


async def test_a_server_without_cimd_support_gets_a_dynamic_registration(settings: Settings) -> None:
    async with serve_tasks() as server:
        vault = vault_for(settings.home, "tasks", server.mcp_url)
        with anyio.fail_after(WAIT_S):
            result = await sign_in(
                vault, Browser().present, guard=NetworkGuard(vault.url), client_metadata_url=METADATA_URL
            )
        assert result.is_needed
        client = vault.load_client()
        assert client is not None
        assert client.info.client_id != METADATA_URL
        assert client.info.client_id in server.authority.grants.clients


async def test_a_bad_client_metadata_url_keeps_the_client_tether_registered(settings: Settings) -> None:
    vault = vault_for(settings.home, "tasks", "http://127.0.0.1:9/mcp")
    info = OAuthClientInformationFull(client_id="registered-before", token_endpoint_auth_method="none")
    async with await anyio.create_tcp_listener(local_host="127.0.0.1") as free:  # a port to remember
        port = free.extra(anyio.abc.SocketAttribute.local_port)
    vault.save_client(StoredClient(info=info, is_pre_registered=False, callback_port=port))
    with anyio.fail_after(WAIT_S), pytest.raises(TetherError) as raised:
        await sign_in(vault, Browser().present, guard=NetworkGuard(vault.url), client_metadata_url="nope")
    assert raised.value.code == "usage"
    kept = vault.load_client()
    assert kept is not None
    assert kept.info.client_id == "registered-before"
