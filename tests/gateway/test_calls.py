"""The gateway in process, over both protocol versions: listing, calling, refusals, pass-through."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp import Client, types

from tests.gateway.conftest import PNG_1PX, WAIT_S, in_process, next_record
from tether.gateway.callers import Caller
from tether.types import Actor, Effect

ME = Actor("cli", "test")
MODES = ["legacy", "auto"]


def error_code(result: types.CallToolResult) -> Any:
    assert result.is_error
    return (result.meta or {}).get("tether/error")


@pytest.mark.parametrize("mode", MODES)
async def test_tools_are_listed_under_their_source_prefix_and_blocked_ones_are_hidden(mode: str) -> None:
    async with in_process() as gw:
        await gw.host.set_policy(ME, await gw.host.resolve("media__broken"), Effect.BLOCK)
        async with Client(gw.gateway.server, mode=mode) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
    assert "echo__echo" in names
    assert "media__image" in names
    assert "media__broken" not in names


@pytest.mark.parametrize("mode", MODES)
async def test_an_allowed_call_runs_through_the_host_and_the_activity_names_the_gateway(mode: str) -> None:
    async with in_process() as gw:
        await gw.host.set_policy(ME, await gw.host.resolve("echo__echo"), Effect.ALLOW)
        async with Client(gw.gateway.server, mode=mode) as client:
            result = await client.call_tool("echo__echo", {"text": "hello"})
        rows = await gw.activity()
    assert not result.is_error
    assert result.content[0].model_dump()["text"] == "hello"
    assert [(r.actor, r.data["outcome"]) for r in rows] == [("gateway:stdio", "ok")]


@pytest.mark.parametrize("mode", MODES)
async def test_images_and_structured_content_pass_through_unchanged(mode: str) -> None:
    async with in_process() as gw:
        for tool in ("media__image", "media__structured"):
            await gw.host.set_policy(ME, await gw.host.resolve(tool), Effect.ALLOW)
        async with Client(gw.gateway.server, mode=mode) as client:
            image = await client.call_tool("media__image", {})
            structured = await client.call_tool("media__structured", {})
    blocks = [block.model_dump(by_alias=True, exclude_none=True) for block in image.content]
    assert blocks == [
        {"type": "image", "data": PNG_1PX, "mimeType": "image/png"},
        {"type": "text", "text": "a pixel", "_meta": {"kept": True}},
    ]
    assert structured.structured_content == {"n": 3}


@pytest.mark.parametrize("mode", MODES)
async def test_refusals_are_tool_errors_with_tethers_code(mode: str) -> None:
    async with in_process() as gw:
        await gw.host.set_policy(ME, await gw.host.resolve("echo__echo"), Effect.BLOCK)
        async with Client(gw.gateway.server, mode=mode) as client:
            unknown = await client.call_tool("echo__nope", {})
            blocked = await client.call_tool("echo__echo", {"text": "x"})
            await gw.host.set_policy(ME, await gw.host.resolve("echo__echo"), Effect.ALLOW)
            invalid = await client.call_tool("echo__echo", {"text": 3})
    assert error_code(unknown) == "unknown_tool"
    assert error_code(blocked) == "tool_blocked"
    assert error_code(invalid) == "invalid_arguments"


@pytest.mark.parametrize("mode", MODES)
async def test_a_failing_source_is_a_tool_error_naming_the_source(mode: str) -> None:
    async with in_process() as gw:
        for tool in ("media__broken", "media__image"):
            await gw.host.set_policy(ME, await gw.host.resolve(tool), Effect.ALLOW)
        async with Client(gw.gateway.server, mode=mode) as client:
            result = await client.call_tool("media__broken", {})
            still_serving = await client.call_tool("media__image", {})
    assert error_code(result) == "source_unavailable"
    assert "'media'" in result.content[0].model_dump()["text"]
    assert not still_serving.is_error


@pytest.mark.parametrize("mode", MODES)
async def test_a_bare_tool_name_is_called_when_only_one_source_has_it(mode: str) -> None:
    async with in_process() as gw:
        await gw.host.set_policy(ME, await gw.host.resolve("media__image"), Effect.ALLOW)
        async with Client(gw.gateway.server, mode=mode) as client:
            result = await client.call_tool("image", {})
    assert not result.is_error


async def test_a_token_reaches_only_its_sources() -> None:
    scoped = Caller(Actor("gateway", "cursor"), frozenset({"echo"}))
    async with in_process(caller=scoped) as gw:
        await gw.host.set_policy(ME, await gw.host.resolve("media__image"), Effect.ALLOW)
        async with Client(gw.gateway.server, mode="legacy") as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            outside = await client.call_tool("media__image", {})
            prompts = (await client.list_prompts()).prompts
    assert names == {"echo__echo"}
    assert error_code(outside) == "unknown_tool"
    assert prompts == []


@pytest.mark.parametrize("mode", MODES)
async def test_source_progress_reaches_the_client(mode: str) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with in_process() as gw:
        await gw.host.set_policy(ME, await gw.host.resolve("media__steps"), Effect.ALLOW)
        async with Client(gw.gateway.server, mode=mode) as client:
            result = await client.call_tool("media__steps", {}, progress_callback=on_progress)
    assert not result.is_error
    assert seen == [(1, 2, "step 1"), (2, 2, "step 2")]


async def test_a_cancelled_call_cancels_the_source_call_and_is_recorded_cancelled() -> None:
    async with in_process() as gw:
        await gw.host.set_policy(ME, await gw.host.resolve("media__slow"), Effect.ALLOW)
        with gw.host.events.subscribe() as events:
            async with Client(gw.gateway.server, mode="legacy") as client, anyio.create_task_group() as tg:
                no_arguments: dict[str, Any] = {}
                tg.start_soon(client.call_tool, "media__slow", no_arguments)
                with anyio.fail_after(WAIT_S):
                    await gw.media.started.wait()
                tg.cancel_scope.cancel()  # the client gives up: it sends notifications/cancelled
            record = await next_record(events, "tool.called")
    assert record.data["outcome"] == "cancelled"
    assert record.actor == "gateway:stdio"


@pytest.mark.parametrize("mode", MODES)
async def test_prompts_and_resources_are_listed_under_prefixes_and_routed_back(mode: str) -> None:
    async with in_process() as gw, Client(gw.gateway.server, mode=mode) as client:
        prompts = (await client.list_prompts()).prompts
        rendered = await client.get_prompt("media__greet", {"name": "Ada"})
        resources = (await client.list_resources()).resources
        read = await client.read_resource(str(resources[0].uri))
    assert [p.name for p in prompts] == ["media__greet"]
    assert rendered.messages[0].content.model_dump()["text"] == "Hello Ada"
    assert [str(r.uri) for r in resources] == ["tether://media/memo%3A%2F%2Fnote"]
    assert read.contents[0].model_dump()["text"] == "a note"
    assert str(read.contents[0].uri) == str(resources[0].uri)
