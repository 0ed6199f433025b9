"""A CalDAV account (the ``caldav`` package): its calendars, their events in a window, and
new events. Plain HTTP is allowed only to this machine; anything else needs TLS.

``caldav`` is imported on first use: it is slow to import and most people have no account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, cast
from urllib.parse import urlsplit

import icalendar
from mcp.server.mcpserver.exceptions import ToolError

from .models import CalendarInfo, Problem

CALDAV_ERROR = "caldav_error"
TIMEOUT_S = 20
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class CalDavAccount:
    url: str
    username: str
    password: str

    def infos(self) -> tuple[list[CalendarInfo], list[Problem]]:
        try:
            return [info for info, _ in self._calendars()], []
        except Exception as error:  # caldav and its HTTP stack raise many kinds; report, never crash
            return [], [self._problem(error)]

    def events(
        self, start: date | datetime, end: date | datetime
    ) -> tuple[list[tuple[str, icalendar.Calendar]], list[Problem]]:
        found: list[tuple[str, icalendar.Calendar]] = []
        problems: list[Problem] = []
        try:
            calendars = self._calendars()
        except Exception as error:  # as above
            return [], [self._problem(error)]
        for info, calendar in calendars:
            try:
                objects = cast(list[Any], calendar.search(start=_moment(start), end=_moment(end), event=True))
                found.extend((info.id, cast(icalendar.Calendar, o.icalendar_instance)) for o in objects)
            except Exception as error:  # as above
                problems.append(Problem(source=info.id, message=f"cannot search: {_say(error)}"))
        return found, problems

    def add_event(self, calendar_id: str, event: icalendar.Event, wrapper: icalendar.Calendar) -> str:
        try:
            for info, calendar in self._calendars():
                if info.id == calendar_id:
                    wrapper.add_component(event)
                    saved = calendar.add_event(wrapper.to_ical().decode("utf-8"))
                    return str(saved.url)
        except Exception as error:  # as above
            raise ToolError(f"{CALDAV_ERROR}: {self._problem(error).message}; nothing written") from None
        raise ToolError(f"unknown_calendar: no CalDAV calendar '{calendar_id}': list_calendars lists them")

    def _calendars(self) -> list[tuple[CalendarInfo, Any]]:
        from caldav.davclient import DAVClient

        host = urlsplit(self.url).hostname or ""
        client = DAVClient(
            url=self.url,
            username=self.username or None,
            password=self.password or None,
            timeout=TIMEOUT_S,
            require_tls=host not in _LOOPBACK,
            enable_rfc6764=False,
        )
        found: list[tuple[CalendarInfo, Any]] = []
        for calendar in cast(list[Any], client.principal().calendars()):
            url = str(calendar.url)
            name = str(calendar.get_display_name() or url.rstrip("/").rsplit("/", 1)[-1])
            found.append((CalendarInfo(id=url, name=name, kind="caldav"), calendar))
        return found

    def _problem(self, error: Exception) -> Problem:
        return Problem(source=self.url, message=f"CalDAV account unreachable or refused: {_say(error)}")


def _moment(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, time())


def _say(error: Exception) -> str:
    text = (str(error).splitlines() or [""])[0][:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
