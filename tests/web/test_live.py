"""The live stream (/events) over real uvicorn on 127.0.0.1: approvals from this process and from
another one (through ``App.watch_store``) reach an open page, and leave it once decided."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import anyio
import httpx2
import pytest
import uvicorn

from tests.connectors.servers import WAIT_S
from tests.web.conftest import ME, Page, sign_in
from tether.app import App
from tether.config import Settings
from tether.core.activity import PolicyChanged
from tether.demo.tasks_server import bind_loopback
from tether.store.db import open_store
from tether.types import ApprovalRequest, Decision, Effect, HostedTool, ToolDef, Verdict
from tether.web.app import create_web_app
from tether.web.security import Sessions

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def served(app: App) -> AsyncGenerator[Page]:
    """The web UI on a free port with real uvicorn; a client signed in to it."""
    sessions = Sessions()
    sock = bind_loopback()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        create_web_app(app, sessions=sessions), log_level="error", lifespan="on", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: server.serve(sockets=[sock]))
        async with httpx2.AsyncClient(base_url=base_url, timeout=WAIT_S) as http:
            try:
                yield await sign_in(http, sessions)
            finally:
                server.should_exit = True
    sock.close()


async def messages(response: httpx2.Response) -> AsyncIterator[tuple[str, dict[str, object]]]:
    event = ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield event, json.loads(line.removeprefix("data: "))


def request(approval_id: str) -> ApprovalRequest:
    tool = HostedTool("notes__delete", "notes", ToolDef("delete", "Delete a note"))
    return ApprovalRequest(
        id=approval_id,
        tool=tool,
        arguments={"id": 7},
        actor=ME,
        requested_at=datetime.now(UTC),
        decision=Decision(Effect.ASK, "new tools ask before they run", "default"),
    )


async def test_an_approval_written_by_another_process_reaches_an_open_page_and_leaves_it(
    tether_app: App, settings: Settings
) -> None:
    async with served(tether_app) as page, anyio.create_task_group() as tg:
        tg.start_soon(lambda: tether_app.watch_store(every_s=0.1))
        with anyio.fail_after(WAIT_S):
            async with page.http.stream("GET", "/events") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                other = await open_store(settings.home)  # another tether process on the same data dir
                try:
                    await other.create_approval(request("fromafar1"))
                    seen = messages(stream)
                    async for event, data in seen:
                        if event == "approval":
                            assert data["id"] == "fromafar1"
                            html = str(data["html"])
                            assert "notes__delete" in html
                            assert "&#34;id&#34;: 7" in html or '"id": 7' in html
                            break
                    answer = await page.post("/approvals/fromafar1", {"verdict": "denied"})
                    assert answer.status_code == 200
                    assert (await other.get_approval("fromafar1")).verdict is Verdict.DENIED
                finally:
                    await other.close()
        tg.cancel_scope.cancel()


async def test_a_stream_starts_with_the_approvals_already_waiting(tether_app: App) -> None:
    await tether_app.store.create_approval(request("waiting01"))
    async with served(tether_app) as page:
        with anyio.fail_after(WAIT_S):
            async with page.http.stream("GET", "/events") as stream:
                async for event, data in messages(stream):
                    assert (event, data["id"]) == ("approval", "waiting01")
                    break


async def test_a_stream_ends_when_its_session_signs_out(tether_app: App) -> None:
    async with served(tether_app) as page:
        with anyio.fail_after(WAIT_S):
            async with page.http.stream("GET", "/events") as stream:
                lines = stream.aiter_lines()
                assert await anext(lines) == "retry: 1000"
                await page.post("/logout")
                await tether_app.host.record(PolicyChanged(source="x", tool="y", effect="allow"), actor=ME)
                rest = [line async for line in lines]
        assert not any(line.startswith("data: ") for line in rest)
        assert (await page.http.get("/events")).status_code == 401
