"""``/mcp`` over real HTTP (uvicorn on 127.0.0.1): tokens, Host/Origin checks, limits, bad input."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

import anyio
import httpx2
import mcp_types
import pytest
from mcp import Client, types
from mcp.client.context import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client

from tests.gateway.processes import CONFORMANCE, ECHO, ME, WAIT_S, Served, make_home, serving
from tether.core.storage import ActivityFilter
from tether.gateway.tokens import issue_token, revoke_token
from tether.types import Effect

JSON_AND_SSE = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
MODERN = "2026-07-28"


@pytest.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncGenerator[Served]:
    """One gateway for the module; each test uses its own token, so their activity rows differ."""
    home = make_home(tmp_path_factory.mktemp("http") / "home")
    await home.configure({"echo": ECHO, "conf": CONFORMANCE})
    async with serving(home) as served:
        tool = await served.app.host.resolve("conf__slow_with_progress")
        await served.app.host.set_policy(ME, tool, Effect.ALLOW)
        yield served


async def token(served: Served, name: str, **scope: Any) -> str:
    return (await issue_token(served.app.store, served.app.host, ME, name, **scope)).secret


def http(secret: str | None = None, **headers: str) -> httpx2.AsyncClient:
    auth = {"Authorization": f"Bearer {secret}"} if secret is not None else {}
    return httpx2.AsyncClient(headers={**auth, **headers}, timeout=WAIT_S)


def routing(method: str, name: str | None = None) -> dict[str, str]:
    """The headers a 2026-07-28 POST repeats from its body."""
    return {"Mcp-Method": method, **({"Mcp-Name": name} if name is not None else {})}


def modern_request(method: str, params: dict[str, Any] | None = None, request_id: int = 1) -> str:
    meta = {
        mcp_types.PROTOCOL_VERSION_META_KEY: MODERN,
        mcp_types.CLIENT_CAPABILITIES_META_KEY: {},
        mcp_types.CLIENT_INFO_META_KEY: {"name": "test", "version": "1"},
    }
    return json.dumps(
        {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {**(params or {}), "_meta": meta}}
    )


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_client_with_a_token_calls_and_the_activity_names_the_token(
    served: Served, mode: str
) -> None:
    secret = await token(served, f"laptop-{mode}", sources=["echo"])

    async def approve(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        return types.ElicitResult(action="accept", content={"decision": "once"})

    with anyio.fail_after(WAIT_S):
        async with (
            http(secret) as client_http,
            Client(
                streamable_http_client(served.url, http_client=client_http),
                mode=mode,
                elicitation_callback=approve,
            ) as client,
        ):
            names = {tool.name for tool in (await client.list_tools()).tools}
            result = await client.call_tool("echo__echo", {"text": "over http"})
    assert names == {"echo__echo", "echo__add", "echo__slow", "echo__crash", "echo__shout", "echo__grow"}
    assert result.content[0].model_dump()["text"] == "over http"
    rows = await served.app.store.records(ActivityFilter(kind="tool.called"))
    assert [r.data["outcome"] for r in rows if r.actor == f"gateway:laptop-{mode}"] == ["ok"]


async def test_no_token_a_wrong_token_or_a_revoked_token_gets_401(served: Served) -> None:
    secret = await token(served, "revoked")
    body = modern_request("tools/list")
    headers = {**JSON_AND_SSE, "MCP-Protocol-Version": MODERN, **routing("tools/list")}
    async with (
        http(**headers) as anonymous,
        http("tether_wrong", **headers) as wrong,
        http(secret, **headers) as good,
    ):
        assert (await anonymous.post(served.url, content=body)).status_code == 401
        assert (await wrong.post(served.url, content=body)).status_code == 401
        assert (await good.post(served.url, content=body)).status_code == 200
        await revoke_token(served.app.store, served.app.host, ME, "revoked")
        await anyio.wait_all_tasks_blocked()  # the gateway hears of the revocation
        assert (await good.post(served.url, content=body)).status_code == 401


async def test_a_foreign_origin_or_host_is_refused_before_the_token(served: Served) -> None:
    secret = await token(served, "origins")
    body = modern_request("tools/list")
    headers = {**JSON_AND_SSE, "MCP-Protocol-Version": MODERN, **routing("tools/list")}
    async with http(secret, **headers, Origin="https://evil.example") as foreign:
        assert (await foreign.post(served.url, content=body)).status_code == 403
    async with http(None, **headers, Origin="https://evil.example") as anonymous:
        assert (await anonymous.post(served.url, content=body)).status_code == 403
    async with http(secret, **headers, Host="evil.example") as rebound:
        assert (await rebound.post(served.url, content=body)).status_code == 421
    async with http(secret, **headers, Origin="http://localhost:1234") as local:
        assert (await local.post(served.url, content=body)).status_code == 200


async def test_a_body_over_the_limit_gets_413(served: Served) -> None:
    secret = await token(served, "big")
    huge = modern_request(
        "tools/call", {"name": "echo__echo", "arguments": {"text": "x" * (5 * 1024 * 1024)}}
    )
    headers = {**JSON_AND_SSE, "MCP-Protocol-Version": MODERN, **routing("tools/call", "echo__echo")}
    async with http(secret, **headers) as client:
        assert (await client.post(served.url, content=huge)).status_code == 413


async def test_malformed_json_rpc_and_unknown_methods_get_json_rpc_errors(served: Served) -> None:
    secret = await token(served, "garbage")
    async with http(secret, **JSON_AND_SSE, **{"MCP-Protocol-Version": MODERN}) as client:
        garbage = await client.post(served.url, content="{not json")
        not_a_request = await client.post(served.url, content='{"jsonrpc": "2.0", "id": 1}')
        unknown = await client.post(
            served.url, content=modern_request("tools/nope"), headers=routing("tools/nope")
        )
    assert garbage.json()["error"]["code"] == mcp_types.PARSE_ERROR
    assert not_a_request.json()["error"]["code"] == mcp_types.INVALID_REQUEST
    assert unknown.json()["error"]["code"] == mcp_types.METHOD_NOT_FOUND


async def test_a_client_that_disconnects_mid_call_cancels_the_source_call(served: Served) -> None:
    secret = await token(served, "leaver")
    call = modern_request(
        "tools/call",
        {"name": "conf__slow_with_progress", "arguments": {"seconds": 30}, "_meta": {"progressToken": "p"}},
    )
    call_json = json.loads(call)
    call_json["params"]["_meta"]["progressToken"] = "p"
    headers = {
        **JSON_AND_SSE,
        "MCP-Protocol-Version": MODERN,
        **routing("tools/call", "conf__slow_with_progress"),
    }
    with served.app.host.events.subscribe() as events:
        async with http(secret, **headers) as client:
            with anyio.fail_after(WAIT_S):
                async with client.stream("POST", served.url, content=json.dumps(call_json)) as response:
                    async for line in response.aiter_lines():
                        if "notifications/progress" in line:
                            break  # the source call is running: leave now
        with anyio.fail_after(WAIT_S):
            async for event in events:
                if getattr(event, "kind", None) == "tool.called":
                    break
    assert event.data["outcome"] == "cancelled"  # type: ignore[union-attr]
    assert event.actor == "gateway:leaver"  # type: ignore[union-attr]
