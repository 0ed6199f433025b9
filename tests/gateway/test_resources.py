"""Resource templates and subscriptions through the gateway, over a real local source and a
real connector: templates route back, updates reach the subscribed clients, bad URIs are refused."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client, MCPError, types
from mcp.client.session import IncomingMessage
from mcp.server.subscriptions import ResourceUpdated

from tests.connectors.conftest import connector, remote, vault_for
from tests.connectors.servers import asking_over_http
from tests.gateway.conftest import WAIT_S, asking_source, gateway_over, in_process

WATCHED = "tether://asker/note%3A%2F%2Fwatched"


class Updates:
    """A client's message handler that keeps the URIs of resources/updated notifications."""

    def __init__(self) -> None:
        self.uris: list[str] = []
        self.arrived = anyio.Event()

    async def __call__(self, message: IncomingMessage) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            self.uris.append(str(message.params.uri))
            self.arrived.set()


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_templates_are_listed_in_the_gateway_scheme_and_route_back(tmp_path: Path, mode: str) -> None:
    async with (
        gateway_over(asking_source(tmp_path)) as gateway,
        Client(gateway.server, mode=mode) as client,  # type: ignore[arg-type]
    ):
        with anyio.fail_after(WAIT_S):
            templates = (await client.list_resource_templates()).resource_templates
            read = await client.read_resource(templates[0].uri_template.replace("{name}", "shopping"))
    assert [(t.uri_template, t.name) for t in templates] == [("tether://asker/note%3A%2F%2F{name}", "note")]
    assert read.contents[0].model_dump()["text"] == "note shopping"
    assert str(read.contents[0].uri) == "tether://asker/note%3A%2F%2Fshopping"


@pytest.mark.parametrize("source_mode", ["auto", "legacy"])
async def test_a_2025_client_hears_the_update_of_a_resource_it_subscribed_to(
    tmp_path: Path, source_mode: str
) -> None:
    updates = Updates()
    async with (
        gateway_over(asking_source(tmp_path, source_mode)) as gateway,
        Client(gateway.server, mode="legacy", message_handler=updates) as client,
    ):
        with anyio.fail_after(WAIT_S):
            await client.session.send_request(
                types.SubscribeRequest(params=types.SubscribeRequestParams(uri=WATCHED)), types.EmptyResult
            )
            await client.call_tool("asker__touch", {})
            await updates.arrived.wait()
    assert updates.uris == [WATCHED]


async def test_a_2026_client_hears_updates_on_its_listen_stream(tmp_path: Path) -> None:
    async with (
        gateway_over(asking_source(tmp_path)) as gateway,
        Client(gateway.server, mode="auto") as client,
    ):
        with anyio.fail_after(WAIT_S):
            async with client.listen(resource_subscriptions=[WATCHED, "tether://nobody/x"]) as stream:
                assert stream.honored.resource_subscriptions == [WATCHED]
                await client.call_tool("asker__touch", {})
                async for event in stream:
                    assert event == ResourceUpdated(uri=WATCHED)
                    break


async def test_unsubscribing_stops_the_watch_at_the_connector(tmp_path: Path) -> None:
    async with asking_over_http() as (url, asking):
        vault = vault_for(tmp_path / "home", "asker", url)
        source = remote(vault, config=connector("asker", url), mode="legacy")
        async with gateway_over(source) as gateway, Client(gateway.server, mode="legacy") as client:
            with anyio.fail_after(WAIT_S):
                subscribe = types.SubscribeRequest(params=types.SubscribeRequestParams(uri=WATCHED))
                await client.session.send_request(subscribe, types.EmptyResult)
                assert len(asking.subscribers["note://watched"]) == 1
                unsubscribe = types.UnsubscribeRequest(params=types.UnsubscribeRequestParams(uri=WATCHED))
                await client.session.send_request(unsubscribe, types.EmptyResult)
    assert "note://watched" not in asking.subscribers


async def test_subscribing_to_an_unknown_or_unwatchable_resource_is_refused() -> None:
    async with in_process() as gw, Client(gw.gateway.server, mode="legacy") as client:
        for uri in ("tether://nobody/x", "tether://media/memo%3A%2F%2Fnote"):
            request = types.SubscribeRequest(params=types.SubscribeRequestParams(uri=uri))
            with anyio.fail_after(WAIT_S), pytest.raises(MCPError) as raised:
                await client.session.send_request(request, types.EmptyResult)
            assert raised.value.error.code == types.INVALID_PARAMS


async def test_the_gateway_says_it_offers_subscriptions() -> None:
    async with in_process() as gw, Client(gw.gateway.server, mode="legacy") as client:
        resources = client.server_capabilities.resources
    assert resources is not None
    assert resources.subscribe
