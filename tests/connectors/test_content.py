"""A connector's prompts and resources are read through tether like an extension's, and a
session the server dropped is opened again for them as for calls."""

from __future__ import annotations

import anyio
import pytest
from mcp import Client

from tests.connectors.conftest import connector, remote, running, vault_for
from tests.connectors.servers import WAIT_S, asking_over_http
from tests.fakes import MemoryStore
from tether.config import Settings
from tether.connectors.transport import ConnectMode
from tether.core.host import Host
from tether.errors import SourceError
from tether.gateway.callers import stdio_caller
from tether.gateway.server import Gateway

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_connectors_prompt_and_resource_are_read(settings: Settings, mode: ConnectMode) -> None:
    async with asking_over_http() as (url, _):
        vault = vault_for(settings.home, "notes", url)
        async with running(remote(vault, config=connector("notes", url), mode=mode)) as source:
            with anyio.fail_after(WAIT_S):
                prompt = await source.get_prompt("greet", {"name": "Ada"})
                resource = await source.read_resource("note://watched")
    assert prompt["messages"] == [{"role": "user", "content": {"type": "text", "text": "Hello Ada"}}]
    assert resource["contents"] == [
        {"uri": "note://watched", "mimeType": "text/plain", "text": "note watched"}
    ]


async def test_reading_after_the_server_dropped_the_session_opens_a_new_one(settings: Settings) -> None:
    async with asking_over_http() as (url, asking):
        vault = vault_for(settings.home, "notes", url)
        async with running(remote(vault, config=connector("notes", url), mode="legacy")) as source:
            assert asking.drop_sessions() >= 1
            with anyio.fail_after(WAIT_S):
                resource = await source.read_resource("note://x")
            assert asking.drop_sessions() >= 1
            with anyio.fail_after(WAIT_S):
                prompt = await source.get_prompt("greet", {"name": "again"})
    assert resource["contents"][0]["text"] == "note x"
    assert prompt["messages"][0]["content"]["text"] == "Hello again"


async def test_an_unknown_prompt_is_a_source_error_naming_the_connector(settings: Settings) -> None:
    async with asking_over_http() as (url, _):
        vault = vault_for(settings.home, "notes", url)
        async with running(remote(vault, config=connector("notes", url))) as source:
            with anyio.fail_after(WAIT_S), pytest.raises(SourceError) as raised:
                await source.get_prompt("nope", {})
    assert raised.value.code == "source_error"
    assert "connector 'notes'" in raised.value.message


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_gateway_serves_a_connectors_prompt_and_resource(settings: Settings, mode: str) -> None:
    async with asking_over_http() as (url, _):
        vault = vault_for(settings.home, "notes", url)
        async with Host(MemoryStore()) as host:
            await host.add_source(remote(vault, config=connector("notes", url)))
            gateway = Gateway(host, caller=stdio_caller())
            async with gateway.running(), Client(gateway.server, mode=mode) as client:  # type: ignore[arg-type]
                with anyio.fail_after(WAIT_S):
                    rendered = await client.get_prompt("notes__greet", {"name": "Ada"})
                    listed = (await client.list_resources()).resources
                    read = await client.read_resource(str(listed[0].uri))
    assert rendered.messages[0].content.model_dump()["text"] == "Hello Ada"
    assert [str(r.uri) for r in listed] == ["tether://notes/note%3A%2F%2Fwatched"]
    assert read.contents[0].model_dump()["text"] == "note watched"
