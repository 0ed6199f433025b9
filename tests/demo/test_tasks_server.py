"""The reference tasks server on its own: its tools' hints, its board, its consent form."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client

from tests.connectors.servers import WAIT_S, serve_tasks
from tether.demo.tasks_data import TaskStore
from tether.demo.tasks_tools import build_tasks_mcp

pytestmark = pytest.mark.anyio


async def test_reading_tools_say_so_and_overwriting_tools_are_destructive() -> None:
    async with Client(build_tasks_mcp(TaskStore())) as client:
        tools = {tool.name: tool.annotations for tool in (await client.list_tools()).tools}
    for name in ("list_projects", "list_tasks", "search_tasks", "whoami"):
        hints = tools[name]
        assert hints is not None
        assert hints.read_only_hint is True
        assert hints.destructive_hint is False
    update = tools["update_task"]
    assert update is not None
    assert update.read_only_hint is False
    assert update.destructive_hint is True
    create = tools["create_task"]
    assert create is not None
    assert create.read_only_hint is False
    assert create.destructive_hint is False


def test_the_board_is_kept_in_a_json_file_per_user(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    store = TaskStore(path)
    task = store.create_task("ann", title="plan", due="2026-05-01")
    store.update_task("ann", task.id, status="doing")
    store.add_comment("ann", task.id, "started")
    again = TaskStore(path)
    assert again.get("ann", task.id).status == "doing"
    assert again.search("ann", "started")[0].title == "plan"
    assert again.list_tasks("bob") == []
    with pytest.raises(ValueError, match="status"):
        again.update_task("ann", task.id, status="lost")


async def test_discovery_documents_advertise_s256_registration_and_revocation() -> None:
    async with serve_tasks() as server, httpx2.AsyncClient(timeout=WAIT_S) as http:
        with anyio.fail_after(WAIT_S):
            challenge = await http.post(server.mcp_url, json={})
            resource = await http.get(server.base_url + "/.well-known/oauth-protected-resource/mcp")
            metadata = await http.get(server.base_url + "/.well-known/oauth-authorization-server")
    assert challenge.status_code == 401
    assert "resource_metadata=" in challenge.headers["www-authenticate"]
    assert [s.rstrip("/") for s in resource.json()["authorization_servers"]] == [server.base_url]
    document = metadata.json()
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["registration_endpoint"].endswith("/register")
    assert document["revocation_endpoint"].endswith("/revoke")
