"""The Calendar built-in over .ics files, a folder of events and a real CalDAV server
(Radicale on 127.0.0.1): recurrences expanded, search, events created, bad ICS reported."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from caldav.davclient import DAVClient

from tests.builtin.caldav_server import radicale_server
from tests.builtin.conftest import Bundles, running_builtin

pytestmark = pytest.mark.anyio

WORK_ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//work//EN
BEGIN:VEVENT
UID:standup@test
DTSTAMP:20260101T000000Z
SUMMARY:Standup
LOCATION:Room 4
DTSTART;TZID=Europe/Paris:20260302T090000
DTEND;TZID=Europe/Paris:20260302T091500
RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=6
EXDATE;TZID=Europe/Paris:20260304T090000
END:VEVENT
BEGIN:VEVENT
UID:holiday@test
DTSTAMP:20260101T000000Z
SUMMARY:Company holiday
DTSTART;VALUE=DATE:20260305
DTEND;VALUE=DATE:20260306
END:VEVENT
BEGIN:VEVENT
UID:broken@test
DTSTAMP:20260101T000000Z
SUMMARY:Broken event
DTSTART:not-a-date
END:VEVENT
END:VCALENDAR
"""

FOLDER_EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//folder//EN
BEGIN:VEVENT
UID:dentist@test
DTSTAMP:20260101T000000Z
SUMMARY:Dentist
DESCRIPTION:Bring the insurance card
DTSTART:20260303T140000Z
DTEND:20260303T150000Z
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
def local(tmp_path: Path) -> dict[str, list[str]]:
    work = tmp_path / "work.ics"
    work.write_text(WORK_ICS)
    folder = tmp_path / "personal"
    folder.mkdir()
    (folder / "dentist.ics").write_text(FOLDER_EVENT)
    broken = tmp_path / "broken.ics"
    broken.write_text("this is not a calendar at all\n")
    return {"calendar_files": [str(work), str(broken)], "calendar_directories": [str(folder)]}


@pytest.fixture
def caldav_url(tmp_path: Path) -> Iterator[str]:
    with radicale_server(tmp_path / "radicale") as url:
        with DAVClient(url=url, username="ada", password="pw", require_tls=False) as client:
            team: Any = client.principal().make_calendar(name="Team", cal_id="team")
            team.add_event(
                dtstart=datetime(2026, 3, 2, 11, 0),
                dtend=datetime(2026, 3, 2, 12, 0),
                summary="Team sync",
                rrule={"FREQ": "DAILY", "COUNT": 3},
            )
        yield url


def text_of(path: Path) -> str:
    return path.read_text()


def starts(listing: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(e["summary"], e["start"]) for e in listing["events"]]


async def test_lists_events_with_recurrences_expanded_and_reports_bad_ics(
    tmp_path: Path, bundles: Bundles, local: dict[str, list[str]]
) -> None:
    async with running_builtin("calendar", bundles, tmp_path, local) as calendar:
        week = await calendar.ok("list_events", start="2026-03-01", end="2026-03-08")
        found = await calendar.ok("search_events", query="insurance", start="2026-01-01", end="2026-12-31")
        assert await calendar.refused("list_events", start="2026-03-08", end="2026-03-01") == "bad_time"
        assert await calendar.refused("list_events", start="yesterday", end="2026-03-01") == "bad_time"
    assert starts(week) == [
        ("Standup", "2026-03-02T09:00:00+01:00"),
        ("Dentist", "2026-03-03T14:00:00+00:00"),
        ("Company holiday", "2026-03-05"),
        ("Standup", "2026-03-06T09:00:00+01:00"),  # the 4th is an EXDATE
    ]
    standup = week["events"][0]
    assert (standup["is_recurring"], standup["location"], standup["end"]) == (
        True,
        "Room 4",
        "2026-03-02T09:15:00+01:00",
    )
    assert week["events"][2]["all_day"] is True
    problems = {(Path(p["source"]).name, p["message"].split(":")[0]) for p in week["problems"]}
    assert problems == {("work.ics", "malformed event broken@test"), ("broken.ics", "malformed ICS")}
    assert [e["uid"] for e in found["events"]] == ["dentist@test"]


async def test_creates_events_in_a_local_file_and_folder(
    tmp_path: Path, bundles: Bundles, local: dict[str, list[str]]
) -> None:
    work, folder = Path(local["calendar_files"][0]), Path(local["calendar_directories"][0])
    async with running_builtin("calendar", bundles, tmp_path, local) as calendar:
        listed = await calendar.ok("list_calendars")
        assert [(c["name"], c["kind"]) for c in listed["calendars"]] == [
            ("work", "file"),
            ("broken", "file"),
            ("personal", "directory"),
        ]
        review = await calendar.ok(
            "create_event", summary="Review", start="2026-03-10T15:00", location="Room 2", calendar=str(work)
        )
        trip = await calendar.ok(
            "create_event", summary="Trip", start="2026-03-12", end="2026-03-14", calendar="personal"
        )
        assert await calendar.refused(
            "create_event", summary="X", start="2026-03-10T15:00", calendar="nope"
        ) == ("unknown_calendar")
        assert await calendar.refused(
            "create_event", summary="X", start="2026-03-10", end="2026-03-10T15:00"
        ) == ("bad_time")
        assert await calendar.refused(
            "create_event", summary="X", start="2026-03-10T15:00", calendar=str(tmp_path / "broken.ics")
        ) == ("calendar_malformed")
        later = await calendar.ok("list_events", start="2026-03-09", end="2026-03-15")
    assert review["event"]["end"] == "2026-03-10T16:00:00"  # an hour by default, floating time
    assert review["written_to"] == str(work)
    kept = WORK_ICS.rsplit("END:VCALENDAR", 1)[0]
    assert text_of(work).startswith(kept)  # the old events are kept as they were
    assert Path(trip["written_to"]).parent == folder
    assert trip["event"]["all_day"] is True
    assert ("Review", "2026-03-10T15:00:00") in starts(later)
    assert ("Trip", "2026-03-12") in starts(later)
    assert (tmp_path / "broken.ics").read_text() == "this is not a calendar at all\n"


async def test_reads_and_writes_a_caldav_calendar(tmp_path: Path, bundles: Bundles, caldav_url: str) -> None:
    settings = {"caldav_url": caldav_url, "caldav_username": "ada", "caldav_password": "pw"}
    async with running_builtin("calendar", bundles, tmp_path, settings) as calendar:
        listed = await calendar.ok("list_calendars")
        [team] = listed["calendars"]
        assert (team["name"], team["kind"]) == ("Team", "caldav")
        created = await calendar.ok(
            "create_event", summary="Retro", start="2026-03-03T16:00", calendar=team["id"]
        )
        days = await calendar.ok("list_events", start="2026-03-01", end="2026-03-08")
    assert created["written_to"].startswith(team["id"])
    assert [(s, t[:13]) for s, t in starts(days)] == [
        ("Team sync", "2026-03-02T11"),
        ("Team sync", "2026-03-03T11"),
        ("Retro", "2026-03-03T16"),
        ("Team sync", "2026-03-04T11"),
    ]
    assert days["problems"] == []


async def test_an_unreachable_caldav_account_is_a_problem_not_a_failure(
    tmp_path: Path, bundles: Bundles, local: dict[str, list[str]]
) -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = {
        **local,
        "caldav_url": f"http://127.0.0.1:{port}/",
        "caldav_username": "ada",
        "caldav_password": "pw",
    }
    async with running_builtin("calendar", bundles, tmp_path, settings) as calendar:
        week = await calendar.ok("list_events", start="2026-03-01", end="2026-03-08")
    assert len(week["events"]) == 4
    assert f"http://127.0.0.1:{port}/" in {p["source"] for p in week["problems"]}
