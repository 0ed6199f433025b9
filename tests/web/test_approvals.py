"""Approvals in the web UI: shown on every page, decided once, the waiting call continues."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import anyio
import pytest

from tests.fakes import FakeSource
from tests.web.conftest import ME, WAIT_S, Page, add_fake
from tether.app import App
from tether.core.events import ApprovalPending
from tether.errors import ApprovalDenied
from tether.types import ApprovalRequest, Effect, ToolResult

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def waiting_call(
    app: App, arguments: dict[str, object] | None = None
) -> AsyncGenerator[tuple[ApprovalRequest, list[ToolResult | Exception]]]:
    """A call to fake__echo that waits for approval in the background; yields its request and,
    once the block is left and the call has ended, its outcome."""
    outcome: list[ToolResult | Exception] = []

    async def call() -> None:
        try:
            outcome.append(await app.host.call_tool(ME, "fake__echo", arguments or {"text": "hi"}))
        except ApprovalDenied as error:
            outcome.append(error)

    with anyio.fail_after(WAIT_S), app.host.events.subscribe() as events:
        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            async for event in events:
                if isinstance(event, ApprovalPending):
                    yield event.request, outcome
                    break


@pytest.fixture
async def fake(tether_app: App) -> FakeSource:
    source = FakeSource.echo("fake")
    await add_fake(tether_app, source)
    return source


async def test_a_pending_approval_shows_on_every_page_with_its_arguments(
    tether_app: App, fake: FakeSource, page: Page
) -> None:
    async with waiting_call(tether_app, {"text": "<b>hello</b>"}) as (request, _):
        for path in ("/extensions", "/connectors", "/tools", "/activity", "/approvals"):
            body = (await page.get(path)).text
            assert f'id="approval-{request.id}"' in body, path
            assert "fake__echo" in body
            assert "&lt;b&gt;hello&lt;/b&gt;" in body  # arguments are shown, never run as HTML
            assert "<b>hello</b>" not in body
        await page.post(f"/approvals/{request.id}", {"verdict": "denied"})


async def test_approving_once_lets_the_waiting_call_continue(
    tether_app: App, fake: FakeSource, page: Page
) -> None:
    async with waiting_call(tether_app) as (request, outcome):
        answer = await page.post(f"/approvals/{request.id}", {"verdict": "approved_once"})
        assert answer.status_code == 200
        assert "approved once" in answer.text
    result = outcome[0]
    assert isinstance(result, ToolResult)
    assert result.text == "hi"
    stored = await tether_app.store.get_approval(request.id)
    assert stored.decided_by is not None
    assert stored.decided_by.startswith("web:")
    assert (await tether_app.store.get_policy("fake", "echo")).effect is None


async def test_always_allow_sets_the_tool_to_allow(tether_app: App, fake: FakeSource, page: Page) -> None:
    async with waiting_call(tether_app) as (request, _):
        await page.post(f"/approvals/{request.id}", {"verdict": "always_allowed"})
    assert (await tether_app.store.get_policy("fake", "echo")).effect is Effect.ALLOW


async def test_deny_refuses_the_call(tether_app: App, fake: FakeSource, page: Page) -> None:
    async with waiting_call(tether_app) as (request, outcome):
        await page.post(f"/approvals/{request.id}", {"verdict": "denied"})
    assert isinstance(outcome[0], ApprovalDenied)
    assert fake.calls == []


async def test_a_stale_approval_clicked_twice_says_already_decided(
    tether_app: App, fake: FakeSource, page: Page
) -> None:
    async with waiting_call(tether_app) as (request, _):
        first = await page.post(f"/approvals/{request.id}", {"verdict": "approved_once"})
        second = await page.post(f"/approvals/{request.id}", {"verdict": "denied"})
    assert first.status_code == 200
    assert second.status_code == 409
    assert "already decided: approved once by web:" in second.text
    assert (await tether_app.store.get_approval(request.id)).verdict is not None
    assert len(fake.calls) == 1


async def test_an_unknown_approval_or_verdict_is_refused(page: Page) -> None:
    assert (await page.post("/approvals/nope", {"verdict": "denied"})).status_code == 404
    assert (await page.post("/approvals/nope", {"verdict": "maybe"})).status_code == 422


async def test_the_approvals_page_lists_recent_decisions(
    tether_app: App, fake: FakeSource, page: Page
) -> None:
    async with waiting_call(tether_app) as (request, _):
        await page.post(f"/approvals/{request.id}", {"verdict": "approved_once"})
    body = (await page.get("/approvals")).text
    assert "Decided lately" in body
    assert "fake__echo" in body
    assert "approved once" in body
