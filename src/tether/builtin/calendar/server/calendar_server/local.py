"""Local calendars: .ics files, and folders of them (one event per file, as sync tools write).

Files are read again when they change. A new event goes into a file by inserting its
VEVENT before the file's last ``END:VCALENDAR`` (the rest of the file is kept byte for
byte, and the result must parse), or into a folder as a new ``<uid>.ics``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import icalendar
from mcp.server.mcpserver.exceptions import ToolError

from .models import CalendarInfo, Problem

MAX_FILES = 20_000
CALENDAR_MALFORMED = "calendar_malformed"


@dataclass
class LocalCalendars:
    files: Sequence[str]
    directories: Sequence[str]
    _cache: dict[str, tuple[tuple[int, int], icalendar.Calendar | Problem]] = field(
        default_factory=dict[str, tuple[tuple[int, int], "icalendar.Calendar | Problem"]]
    )

    def infos(self) -> tuple[list[CalendarInfo], list[Problem]]:
        found: list[CalendarInfo] = []
        problems: list[Problem] = []
        for path in self.files:
            if os.path.isfile(path):
                found.append(CalendarInfo(id=path, name=Path(path).stem, kind="file"))
            else:
                problems.append(Problem(source=path, message="no such file (check settings)"))
        for path in self.directories:
            if os.path.isdir(path):
                found.append(CalendarInfo(id=path, name=Path(path).name, kind="directory"))
            else:
                problems.append(Problem(source=path, message="no such directory (check settings)"))
        return found, problems

    def calendars(self) -> list[tuple[str, icalendar.Calendar | Problem]]:
        """Each readable file's calendar (shared: do not change it), or its problem."""
        loaded: list[tuple[str, icalendar.Calendar | Problem]] = []
        for info in self.infos()[0]:
            paths = [Path(info.id)] if info.kind == "file" else _ics_files(Path(info.id))
            loaded.extend((info.id, self._read(path)) for path in paths)
        return loaded

    def add_event(self, calendar_id: str, event: icalendar.Event) -> str:
        """Write ``event`` to the file or folder ``calendar_id``; returns the file written."""
        target = Path(calendar_id)
        if target.is_dir():
            path = target / f"{event['UID']}.ics"
            wrapper = new_calendar()
            wrapper.add_component(event)
            with path.open("xb") as handle:
                handle.write(wrapper.to_ical())
            return str(path)
        original = target.read_bytes()
        end = original.rfind(b"END:VCALENDAR")
        if end < 0:
            raise ToolError(f"{CALENDAR_MALFORMED}: '{target}' has no END:VCALENDAR; nothing written")
        line_break = b"\r\n" if b"\r\n" in original else b"\n"
        block = event.to_ical().replace(b"\r\n", line_break)
        updated = original[:end] + block + original[end:]
        try:
            icalendar.Calendar.from_ical(updated)
        except ValueError as error:
            raise ToolError(
                f"{CALENDAR_MALFORMED}: '{target}' cannot be read ({error}); nothing written"
            ) from None
        temporary = target.with_name(f".{target.name}.tether-new")
        temporary.write_bytes(updated)
        os.replace(temporary, target)
        return str(target)

    def _read(self, path: Path) -> icalendar.Calendar | Problem:
        key = str(path)
        try:
            info = path.stat()
            stamp = (info.st_mtime_ns, info.st_size)
            cached = self._cache.get(key)
            if cached is None or cached[0] != stamp:
                cached = (stamp, _parse(path.read_bytes(), key))
                self._cache[key] = cached
        except OSError as error:
            return Problem(source=key, message=f"cannot read: {error.strerror}")
        return cached[1]


def new_calendar() -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//tether//calendar//EN")
    calendar.add("VERSION", "2.0")
    return calendar


def _parse(data: bytes, source: str) -> icalendar.Calendar | Problem:
    try:
        return icalendar.Calendar.from_ical(data)
    except ValueError as error:
        first = (str(error).splitlines() or ["unreadable"])[0][:200]
        return Problem(source=source, message=f"malformed ICS: {first}")


def _ics_files(directory: Path) -> list[Path]:
    found: list[Path] = []
    for current, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(current) / n for n in sorted(filenames) if n.lower().endswith(".ics"))
        if len(found) >= MAX_FILES:
            return found[:MAX_FILES]
    return found
