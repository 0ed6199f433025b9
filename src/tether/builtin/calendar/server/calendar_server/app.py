"""The Calendar MCP server: settings from the command line and env, its tools, ``main``.

``python server/main.py --files F... --directories D... --caldav-url=URL --caldav-username=NAME``
with the CalDAV password in ``$CALDAV_PASSWORD`` (never on the command line). Values the
host left as ``${user_config.KEY}`` (a setting nobody set) count as unset.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import icalendar
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from . import events
from .local import LocalCalendars, new_calendar
from .models import CalendarInfo, CalendarList, CreatedEvent, Event, EventList, Problem
from .remote import CalDavAccount

_UNSET = re.compile(r"^\$\{user_config\.[^}]+\}$")
READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
)
Time = Annotated[
    str, Field(description="2026-03-02 (a day) or 2026-03-02T09:00 (a time; add +01:00 or Z for a zone)")
]


class Calendars:
    """Every configured calendar, local and CalDAV, behind one listing and one event search."""

    def __init__(self, local: LocalCalendars, account: CalDavAccount | None) -> None:
        self.local = local
        self.account = account

    def infos(self) -> tuple[list[CalendarInfo], list[Problem]]:
        found, problems = self.local.infos()
        if self.account is not None:
            remote, remote_problems = self.account.infos()
            found += remote
            problems += remote_problems
        return found, problems

    def events(self, start: date | datetime, end: date | datetime) -> tuple[list[Event], list[Problem]]:
        sources: list[tuple[str, icalendar.Calendar | Problem]] = list(self.local.calendars())
        problems: list[Problem] = []
        if self.account is not None:
            remote, problems = self.account.events(start, end)
            sources += remote
        found: list[Event] = []
        for calendar_id, calendar in sources:
            if isinstance(calendar, Problem):
                problems.append(calendar)
                continue
            expanded, bad = events.expand(calendar, start, end, calendar_id)
            found += expanded
            problems += bad
        found.sort(key=events.sort_key)
        return found, problems


def build_server(calendars: Calendars) -> MCPServer:
    server = MCPServer(
        "calendar",
        instructions="The user's calendars (local .ics and CalDAV). Creating an event writes to a calendar.",
        log_level="WARNING",
    )

    @server.tool(annotations=READ)
    def list_calendars() -> CalendarList:
        """The calendars this extension reads and can add events to."""
        found, problems = calendars.infos()
        return CalendarList(calendars=found, problems=problems)

    @server.tool(annotations=READ)
    def list_events(start: Time, end: Time, limit: Annotated[int, Field(ge=1, le=2000)] = 200) -> EventList:
        """Events between start and end, with each occurrence of a repeating event listed."""
        first, last = _window(start, end)
        found, problems = calendars.events(first, last)
        return _listing(first, last, found, problems, limit)

    @server.tool(annotations=READ)
    def search_events(
        query: Annotated[str, Field(description="Words to find in titles, places and descriptions")],
        start: Time | None = None,
        end: Time | None = None,
        limit: Annotated[int, Field(ge=1, le=2000)] = 50,
    ) -> EventList:
        """Events whose title, place or description hold every word of query (default window: +/- a year)."""
        today = date.today()
        first, last = _window(
            start or (today - timedelta(days=365)).isoformat(),
            end or (today + timedelta(days=365)).isoformat(),
        )
        found, problems = calendars.events(first, last)
        words = query.lower().split()
        return _listing(first, last, [e for e in found if events.matches(e, words)], problems, limit)

    @server.tool(annotations=WRITE)
    def create_event(
        summary: str,
        start: Time,
        end: Time | None = None,
        location: str | None = None,
        description: str | None = None,
        calendar: Annotated[
            str | None, Field(description="A calendar id from list_calendars; the first when omitted")
        ] = None,
    ) -> CreatedEvent:
        """Add an event to a calendar (a local .ics file or folder, or CalDAV). A day as start: all-day."""
        event = _new_event(summary, start, end, location, description)
        known, _ = calendars.infos()
        target = next((c for c in known if calendar in (None, c.id, c.name)), None)
        if target is None:
            names = ", ".join(c.id for c in known) or "none (check the extension's settings)"
            raise ToolError(f"unknown_calendar: no calendar '{calendar}'; the calendars are: {names}")
        if target.kind == "caldav" and calendars.account is not None:
            written = calendars.account.add_event(target.id, event, new_calendar())
        else:
            written = calendars.local.add_event(target.id, event)
        return CreatedEvent(event=events.to_event(event, target.id), written_to=written)

    return server


def _window(start: str, end: str) -> tuple[date | datetime, date | datetime]:
    first, last = events.parse_time(start, "start"), events.parse_time(end, "end")
    if _as_datetime(last) <= _as_datetime(first):
        raise ToolError(f"{events.BAD_TIME}: end ({end}) must come after start ({start})")
    return first, last


def _as_datetime(value: date | datetime) -> datetime:
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    return (
        moment.replace(tzinfo=None) if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)
    )


def _listing(
    first: date | datetime, last: date | datetime, found: list[Event], problems: list[Problem], limit: int
) -> EventList:
    return EventList(
        start=events.iso(first),
        end=events.iso(last),
        events=found[:limit],
        total_events=len(found),
        truncated=len(found) > limit,
        problems=problems,
    )


def _new_event(
    summary: str, start: str, end: str | None, location: str | None, description: str | None
) -> icalendar.Event:
    if not summary.strip():
        raise ToolError("bad_event: an event needs a summary (its title)")
    first = events.parse_time(start, "start")
    is_all_day = not isinstance(first, datetime)
    last = (
        events.parse_time(end, "end")
        if end
        else first + (timedelta(days=1) if is_all_day else timedelta(hours=1))
    )
    if isinstance(last, datetime) == is_all_day:
        raise ToolError(f"{events.BAD_TIME}: start and end must both be days or both be times")
    if _as_datetime(last) <= _as_datetime(first):
        raise ToolError(f"{events.BAD_TIME}: end ({events.iso(last)}) must come after start ({start})")
    event = icalendar.Event()
    event.add("UID", f"{uuid.uuid4()}@tether")
    event.add("DTSTAMP", datetime.now(UTC))
    event.add("SUMMARY", summary.strip())
    event.add("DTSTART", first)
    event.add("DTEND", last)
    if location:
        event.add("LOCATION", location)
    if description:
        event.add("DESCRIPTION", description)
    return event


def parse_arguments(argv: list[str]) -> Calendars:
    parser = argparse.ArgumentParser(prog="calendar", allow_abbrev=False)
    parser.add_argument("--files", nargs="*", default=[])
    parser.add_argument("--directories", nargs="*", default=[])
    parser.add_argument("--caldav-url", default="")
    parser.add_argument("--caldav-username", default="")
    options = parser.parse_args([arg for arg in argv if not _UNSET.match(arg)])
    url, username = _set(options.caldav_url), _set(options.caldav_username)
    account = CalDavAccount(url, username, _set(os.environ.get("CALDAV_PASSWORD", ""))) if url else None
    return Calendars(
        LocalCalendars(files=list(options.files), directories=list(options.directories)), account
    )


def _set(value: str) -> str:
    """A setting's value, or "" when the host left it unsubstituted."""
    return "" if "${user_config." in value else value.strip()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    build_server(parse_arguments(sys.argv[1:])).run()
