"""Events and calendars as the tools return them (pydantic, so each tool has an output schema).

Times are ISO 8601: ``2026-03-02`` for all-day, ``2026-03-02T09:00:00+01:00`` with a zone,
``2026-03-02T09:00:00`` for floating (local) times.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Problem(BaseModel):
    """A calendar, file or event that could not be read; the rest still is."""

    source: str
    message: str


class CalendarInfo(BaseModel):
    id: str
    """A path (local) or URL (CalDAV): pass it as ``calendar`` to create_event."""
    name: str
    kind: Literal["file", "directory", "caldav"]


class CalendarList(BaseModel):
    calendars: list[CalendarInfo]
    problems: list[Problem]


class Event(BaseModel):
    uid: str
    summary: str
    start: str
    end: str | None
    all_day: bool
    location: str | None = None
    description: str | None = None
    is_recurring: bool
    calendar: str


class EventList(BaseModel):
    start: str
    end: str
    events: list[Event]
    total_events: int
    truncated: bool
    problems: list[Problem]
    """Calendars, files and events that could not be read (skipped, not fatal)."""


class CreatedEvent(BaseModel):
    event: Event
    written_to: str
    """The .ics file, or the CalDAV event URL."""
