"""Tools & permissions: Ask / Always allow / Block, skip approvals, rules, changed definitions."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pytest

from tests.fakes import FakeSource, text_result
from tests.web.conftest import Page, add_fake
from tether.app import App
from tether.core.storage import ActivityFilter
from tether.types import JSON, Effect, ToolAnnotations, ToolDef, ToolResult

pytestmark = pytest.mark.anyio


async def nothing(arguments: Mapping[str, JSON]) -> ToolResult:
    return text_result("done")


def notes() -> FakeSource:
    return FakeSource(
        "notes",
        {
            "read": (ToolDef("read", "Read a note", annotations=ToolAnnotations(read_only=True)), nothing),
            "erase": (
                ToolDef("erase", "Erase every note", annotations=ToolAnnotations(destructive=True)),
                nothing,
            ),
        },
    )


@pytest.fixture
async def source(tether_app: App) -> FakeSource:
    fake = notes()
    await add_fake(tether_app, fake)
    return fake


async def test_every_tool_is_listed_asking_with_its_annotations(source: FakeSource, page: Page) -> None:
    body = (await page.get("/tools")).text
    assert "notes__read" in body
    assert "notes__erase" in body
    assert "read-only" in body
    assert "destructive" in body
    assert body.count('value="ask" checked') == 2
    assert "new tools ask before they run" in body


async def test_setting_a_permission_stores_it_and_logs_it(
    tether_app: App, source: FakeSource, page: Page
) -> None:
    answer = await page.post("/tools/notes__read/permission", {"effect": "allow"})
    assert answer.status_code == 200
    assert 'value="allow" checked' in answer.text
    assert "is always allowed" in answer.text
    assert (await tether_app.store.get_policy("notes", "read")).effect is Effect.ALLOW
    await page.post("/tools/notes__erase/permission", {"effect": "block"})
    assert (await tether_app.store.get_policy("notes", "erase")).effect is Effect.BLOCK
    changed = await tether_app.store.records(ActivityFilter(kind="policy.changed"))
    assert [(r.tool, r.data["effect"], r.actor.startswith("web:")) for r in changed] == [
        ("read", "allow", True),
        ("erase", "block", True),
    ]
    assert (await page.post("/tools/notes__read/permission", {"effect": "maybe"})).status_code == 422
    assert (await page.post("/tools/notes__nope/permission", {"effect": "ask"})).status_code == 404


async def test_skip_approvals_is_stored_with_a_warning(
    tether_app: App, source: FakeSource, page: Page
) -> None:
    answer = await page.post("/sources/notes/skip-approvals", {"skip_approvals": "on"})
    assert "runs without asking, including tools it adds later" in answer.text
    assert (await tether_app.store.get_source("notes")).skip_approvals
    assert (await tether_app.host.decide(await tether_app.host.resolve("notes__read"))).effect is Effect.ALLOW
    await page.post("/sources/notes/skip-approvals", {})
    assert not (await tether_app.store.get_source("notes")).skip_approvals


async def test_rules_turn_on_and_off_with_their_explanation(tether_app: App, page: Page) -> None:
    body = (await page.get("/tools")).text
    assert "Allow tools that declare themselves read-only" in body
    answer = await page.post("/rules/allow-read-only", {"is_on": "on"})
    assert ">on<" in answer.text
    assert await tether_app.host.rules() == ["allow-read-only"]
    await page.post("/rules/allow-read-only", {})
    assert await tether_app.host.rules() == []
    assert (await page.post("/rules/no-such-rule", {"is_on": "on"})).status_code == 404


async def test_a_changed_definition_shows_its_diff_until_reviewed(
    tether_app: App, source: FakeSource, page: Page
) -> None:
    await page.post("/tools/notes__read/permission", {"effect": "allow"})
    definition, handler = source.tools["read"]
    source.tools["read"] = (
        dataclasses.replace(definition, description="Read a note, then mail it away"),
        handler,
    )
    await tether_app.host.sync_catalog("notes")
    body = (await page.get("/tools")).text
    assert "Changed since you approved it" in body
    assert "+  &#34;description&#34;: &#34;Read a note, then mail it away&#34;" in body
    assert "1 tool changed since you approved it" in body
    reviewed = await page.post("/tools/notes__read/review")
    assert "Changed since you approved it" not in reviewed.text
    assert "is always allowed" in reviewed.text


async def test_a_source_can_be_shown_alone(source: FakeSource, page: Page) -> None:
    body = (await page.get("/tools?source=notes")).text
    assert "notes__read" in body
    assert "All sources" in body
