"""Interop with the reference tools: the MCP Inspector CLI through both transports, and the
official conformance suite's server scenarios against the HTTP gateway fronting a
conformance-style source. The tools are installed with npm into .cache/ (Node 22 included)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import cast

import anyio
import anyio.to_thread
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.gateway.processes import CONFORMANCE, ECHO, ME, Home, Served, listening, make_home, serving
from tests.npm_tools import CONFORMANCE as CONFORMANCE_SCRIPT
from tests.npm_tools import NodeTools, install_node_tools
from tether.gateway.tokens import issue_token
from tether.types import Effect

pytestmark = pytest.mark.timeout(600)

# Scenarios that cannot pass through a gateway, each explained in docs/gateway.md (none now).
EXPECTED_FAILURES: frozenset[str] = frozenset()


@pytest.fixture(scope="session")
def node_tools() -> NodeTools:
    return install_node_tools()


@pytest.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncGenerator[tuple[Home, Served]]:
    home = make_home(tmp_path_factory.mktemp("interop") / "home")
    await home.configure({"echo": ECHO, "conf": CONFORMANCE})
    async with serving(home) as served:
        for tool in await served.app.host.tools():
            await served.app.host.set_policy(ME, tool, Effect.ALLOW)
        yield home, served


def tool_names(output: str) -> set[str]:
    return {tool["name"] for tool in json.loads(output)["tools"]}


async def test_the_inspector_lists_and_calls_tools_over_stdio(
    node_tools: NodeTools, served: tuple[Home, Served]
) -> None:
    home, _ = served
    server = ["-e", f"TETHER_HOME={home.path}", "-e", f"TETHER_CONFIG={home.env['TETHER_CONFIG']}"]
    server += [
        "-e",
        "TETHER_SECRETS_BACKEND=file",
        home.env.get("PYTHON", shutil.which("python3") or "python3"),
    ]
    command = [*server[:-1], home.mcp().command, "-m", "tether", "mcp"]
    listed = await anyio.to_thread.run_sync(lambda: node_tools.inspector(*command, "--method", "tools/list"))
    assert listed.returncode == 0, listed.stderr
    assert {"echo__echo", "conf__test_simple_text"} <= tool_names(listed.stdout)
    called = await anyio.to_thread.run_sync(
        lambda: node_tools.inspector(
            *command, "--method", "tools/call", "--tool-name", "echo__echo", "--tool-arg", "text=hi"
        )
    )
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout)["content"][0]["text"] == "hi"


async def test_the_inspector_lists_and_calls_tools_over_http(
    node_tools: NodeTools, served: tuple[Home, Served]
) -> None:
    _, http = served
    secret = (await issue_token(http.app.store, http.app.host, ME, "inspector")).secret
    target = [http.url, "--transport", "http", "--header", f"Authorization: Bearer {secret}"]
    listed = await anyio.to_thread.run_sync(lambda: node_tools.inspector(*target, "--method", "tools/list"))
    assert listed.returncode == 0, listed.stderr
    assert "conf__test_image_content" in tool_names(listed.stdout)
    called = await anyio.to_thread.run_sync(
        lambda: node_tools.inspector(
            *target, "--method", "tools/call", "--tool-name", "conf__test_image_content"
        )
    )
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout)["content"][0]["type"] == "image"


class WithToken:
    """The suite cannot send a token: this shim in front of the gateway adds one."""

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self._app = app
        self._header = (b"authorization", f"Bearer {secret}".encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "headers": [*scope["headers"], self._header]}
        await self._app(scope, receive, send)


async def test_the_conformance_suite_passes_but_the_explained_scenarios(
    node_tools: NodeTools, served: tuple[Home, Served], tmp_path: Path
) -> None:
    _, http = served
    secret = (await issue_token(http.app.store, http.app.host, ME, "conformance")).secret
    results = tmp_path / "results"
    async with listening(WithToken(http.http, secret)) as base:
        url = f"{base}/mcp"
        done = await anyio.to_thread.run_sync(
            lambda: node_tools.run(CONFORMANCE_SCRIPT, "server", "--url", url, "-o", str(results))
        )
    failed = scenario_failures(results)
    assert len(failed) >= 20, (
        f"the suite ran too few scenarios:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    )
    unexpected = {name: checks for name, checks in failed.items() if checks and name not in EXPECTED_FAILURES}
    assert not unexpected, json.dumps(unexpected, indent=2)[:4000]
    now_passing = sorted(name for name in EXPECTED_FAILURES if not failed.get(name))
    assert not now_passing, f"explained as failing but passing now (update docs/gateway.md): {now_passing}"


def scenario_failures(results: Path) -> dict[str, list[str]]:
    """Scenario name -> the ids of its failed checks, from the suite's output directory."""
    failures: dict[str, list[str]] = {}
    for path in sorted(results.rglob("*.json")):
        try:
            checks: object = json.loads(path.read_text())
        except ValueError:
            continue
        if isinstance(checks, list):
            scenario = re.sub(r"^server-|-\d{4}-\d{2}-\d{2}T.*$", "", path.parent.name)
            failures[scenario] = [
                str(check.get("id", "?"))
                for check in cast(list[dict[str, object]], checks)
                if check.get("status") == "FAILURE"
            ]
    return failures
