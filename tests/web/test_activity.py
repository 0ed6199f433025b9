"""The Activity page: keyset pages, filters, one row's details, verify status, export, access report."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3

import pytest

from tests.web.conftest import ME, Page
from tether.app import App
from tether.core.activity import PolicyChanged, ToolCalled

pytestmark = pytest.mark.anyio


async def log_calls(app: App, count: int) -> None:
    for n in range(count):
        await app.host.record(
            ToolCalled(
                source="notes" if n % 2 else "files",
                tool="read",
                arguments={"n": n},
                effect="block" if n % 10 == 0 else "allow",
                outcome="refused" if n % 10 == 0 else "ok",
            ),
            actor=ME,
        )


def seqs(body: str) -> list[int]:
    return [int(s) for s in re.findall(r'aria-label="Details of row (\d+)"', body)]


async def test_pages_are_cut_by_seq_newest_first(tether_app: App, page: Page) -> None:
    await log_calls(tether_app, 120)  # rows 2 to 121: row 1 is this browser signing in
    first = (await page.get("/activity")).text
    assert seqs(first) == list(range(121, 71, -1))
    assert "before=72" in first
    second = (await page.get("/activity?before=72")).text
    assert seqs(second) == list(range(71, 21, -1))
    third = (await page.get("/activity?before=22")).text
    assert seqs(third) == list(range(21, 0, -1))
    assert "before=" not in third
    back = (await page.get("/activity?after=21")).text
    assert seqs(back) == list(range(71, 21, -1))


async def test_filters_narrow_the_rows(tether_app: App, page: Page) -> None:
    await log_calls(tether_app, 40)
    await tether_app.host.record(PolicyChanged(source="notes", tool="read", effect="allow"), actor=ME)
    notes = seqs((await page.get("/activity?source=notes")).text)
    assert len(notes) == 21
    blocked = seqs((await page.get("/activity?decision=block")).text)
    assert blocked == [32, 22, 12, 2]
    changes = seqs((await page.get("/activity?kind=policy.changed")).text)
    assert changes == [42]
    assert len(seqs((await page.get("/activity?tool=read&period=1h")).text)) == 41
    assert seqs((await page.get("/activity?tool=write")).text) == []


async def test_a_filter_change_from_htmx_gets_only_the_results(tether_app: App, page: Page) -> None:
    await log_calls(tether_app, 3)
    answer = await page.get(
        "/activity?source=files", **{"HX-Request": "true", "HX-Target": "activity-results"}
    )
    assert answer.text.startswith('<div id="activity-results">')
    assert '<nav class="sidebar"' not in answer.text


async def test_a_row_has_a_details_page(tether_app: App, page: Page) -> None:
    await log_calls(tether_app, 3)
    answer = await page.get("/activity/3")
    assert answer.status_code == 200
    assert "notes__read" in answer.text
    assert "prev_hash" not in answer.text
    assert "Previous hash" in answer.text
    assert (await page.get("/activity/99")).status_code == 404


async def test_verify_says_intact_then_names_the_row_someone_edited(tether_app: App, page: Page) -> None:
    await log_calls(tether_app, 5)
    assert "chain intact · 6 rows verified" in (await page.get("/activity/verify")).text
    with sqlite3.connect(tether_app.settings.database_path) as db:
        db.execute("UPDATE activity SET actor = 'someone else' WHERE seq = 3")
    assert "chain intact" in (await page.get("/activity/verify")).text  # remembered until a new row
    again = (await page.get("/activity/verify?again=1")).text
    assert "chain broken at row 3" in again


async def test_export_downloads_every_matching_row_as_jsonl_or_csv(tether_app: App, page: Page) -> None:
    await log_calls(tether_app, 4500)
    answer = await page.get("/activity/export?format=jsonl&source=files")
    assert answer.headers["content-disposition"].startswith("attachment;")
    rows = [json.loads(line) for line in answer.text.splitlines()]
    assert len(rows) == 2250
    assert {r["source"] for r in rows} == {"files"}
    assert rows[0]["hash"]
    assert rows[0]["prev_hash"]
    table = list(csv.reader(io.StringIO((await page.get("/activity/export?format=csv")).text)))
    assert table[0] == ["seq", "at", "kind", "actor", "source", "tool", "data", "prev_hash", "hash"]
    assert len(table) == 4502
    assert (await page.get("/activity/export?format=xml")).status_code == 422


async def test_the_access_report_shows_what_each_source_did(tether_app: App, page: Page) -> None:
    await log_calls(tether_app, 10)
    body = (await page.get("/activity/report?period=24h")).text
    assert "Access report" in body
    assert "notes" in body
    assert "files" in body
    markdown = await page.get("/activity/report?period=all&format=md")
    assert markdown.text.startswith("# tether access report")
    document = json.loads((await page.get("/activity/report?format=json")).text)
    assert {s["source"] for s in document["sources"]} == {"files", "notes"}
