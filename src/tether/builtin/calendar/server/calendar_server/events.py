"""From icalendar components to ``Event``: recurrences expanded over a window, bad events
reported and left out, times written as ISO 8601.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, cast

import icalendar
import recurring_ical_events  # pyright: ignore[reportMissingTypeStubs]
from mcp.server.mcpserver.exceptions import ToolError

from .models import Event, Problem

BAD_TIME = "bad_time"
_DESCRIPTION_CHARS = 1000


def parse_time(text: str, field: str) -> date | datetime:
    """``2026-03-02`` (a day) or ``2026-03-02T09:00[:00][+01:00|Z]`` (a time, floating without a zone)."""
    value = text.strip()
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ToolError(
            f"{BAD_TIME}: {field} '{text}' is not a date (2026-03-02) or a time (2026-03-02T09:00)"
        ) from None


def iso(value: date | datetime) -> str:
    return value.isoformat()


def expand(
    calendar: icalendar.Calendar, start: date | datetime, end: date | datetime, calendar_id: str
) -> tuple[list[Event], list[Problem]]:
    """The events of ``calendar`` between ``start`` and ``end``, each occurrence of a series once."""
    calendar, problems = without_broken_events(calendar, calendar_id)
    try:
        occurrences = cast(
            Iterable[Any],
            recurring_ical_events.of(calendar, keep_recurrence_attributes=True, skip_bad_series=True).between(
                start, end
            ),
        )
        events = [to_event(component, calendar_id) for component in occurrences]
    except (
        ValueError,
        TypeError,
    ) as error:  # icalendar and recurring_ical_events raise ValueError subclasses
        return [], [*problems, Problem(source=calendar_id, message=f"cannot expand its events: {error}")]
    return events, problems


def without_broken_events(
    calendar: icalendar.Calendar, calendar_id: str
) -> tuple[icalendar.Calendar, list[Problem]]:
    """A copy of ``calendar`` without the VEVENTs icalendar could not read, and which and why."""
    problems: list[Problem] = []
    kept: list[Any] = []
    for component in calendar.subcomponents:
        errors = cast(list[tuple[str, str]], getattr(component, "errors", []))
        if component.name == "VEVENT" and errors:
            uid = str(component.get("UID", "without UID"))
            detail = "; ".join(f"{prop}: {message}" for prop, message in errors)
            problems.append(Problem(source=calendar_id, message=f"malformed event {uid}: {detail}"))
        else:
            kept.append(component)
    clean = icalendar.Calendar(calendar)
    clean.subcomponents = kept
    return clean, problems


def to_event(component: Any, calendar_id: str) -> Event:
    start = cast(date | datetime, component.decoded("DTSTART"))
    end = _end(component, start)
    description = _text(component.get("DESCRIPTION"))
    return Event(
        uid=str(component.get("UID", "")),
        summary=_text(component.get("SUMMARY")) or "(no title)",
        start=iso(start),
        end=iso(end) if end is not None else None,
        all_day=not isinstance(start, datetime),
        location=_text(component.get("LOCATION")) or None,
        description=description[:_DESCRIPTION_CHARS] if description else None,
        is_recurring=component.get("RRULE") is not None or component.get("RDATE") is not None,
        calendar=calendar_id,
    )


def _end(component: Any, start: date | datetime) -> date | datetime | None:
    if component.get("DTEND") is not None:
        return cast(date | datetime, component.decoded("DTEND"))
    if component.get("DURATION") is not None:
        return start + cast(timedelta, component.decoded("DURATION"))
    return None


def _text(value: object) -> str:
    return str(value).strip() if value is not None else ""


def matches(event: Event, words: list[str]) -> bool:
    haystack = " ".join([event.summary, event.location or "", event.description or ""]).lower()
    return all(word in haystack for word in words)


def sort_key(event: Event) -> str:
    """Chronological enough for one listing: all-day events sort before timed ones on their day."""
    return event.start if len(event.start) > 10 else event.start + "T00:00:00"
