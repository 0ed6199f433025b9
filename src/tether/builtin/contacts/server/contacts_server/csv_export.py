"""Contacts exported as CSV by Google Contacts (old and new column names) and Outlook.

Columns are found by their header, so other tools' exports with similar headers work too;
a file whose header names no name or email column is reported, not guessed at.
"""

from __future__ import annotations

import csv
import io

from .models import Problem
from .vcards import CardFields

_NAME = ("name", "display name", "full name")
_GIVEN = ("first name", "given name")
_MIDDLE = ("middle name", "additional name")
_FAMILY = ("last name", "family name")
_ORG = ("organization name", "organization 1 - name", "company")
_TITLE = ("organization title", "organization 1 - title", "job title")
_BIRTHDAY = ("birthday",)
_NOTE = ("notes", "note")
_SEPARATOR = ":::"  # Google joins several values of one field with " ::: "


def read_csv_contacts(text: str, source: str) -> tuple[list[CardFields], list[Problem]]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        return [], [Problem(source=source, line=1, message="an empty or unreadable CSV file")]
    email_columns = [i for i, h in enumerate(header) if _is_email(h)]
    phone_columns = [i for i, h in enumerate(header) if _is_phone(h)]
    address_columns = [i for i, h in enumerate(header) if h.startswith("address") and h.endswith("formatted")]
    has_name = any(h in (*_NAME, *_GIVEN, *_FAMILY) for h in header)
    if not has_name and not email_columns:
        return [], [Problem(source=source, line=1, message="no name or e-mail column: not a contacts export")]
    cards: list[CardFields] = []
    problems: list[Problem] = []
    for row_number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(
                Problem(
                    source=source,
                    line=row_number,
                    message=f"{len(row)} columns, the header has {len(header)}",
                )
            )
            continue
        cells = dict(zip(header, (cell.strip() for cell in row), strict=True))
        emails = _values(row, email_columns)
        given = " ".join(
            v for v in (_first(cells, _GIVEN), _first(cells, _MIDDLE), _first(cells, _FAMILY)) if v
        )
        name = _first(cells, _NAME) or given or (emails[0] if emails else "")
        if not name:
            problems.append(
                Problem(source=source, line=row_number, message="a row with no name and no email")
            )
            continue
        cards.append(
            CardFields(
                key=f"row:{row_number}",
                name=name,
                emails=tuple(emails),
                phones=tuple(_values(row, phone_columns)),
                organization=_first(cells, _ORG) or None,
                title=_first(cells, _TITLE) or None,
                addresses=tuple(" ".join(a.split()) for a in _values(row, address_columns)),
                birthday=_first(cells, _BIRTHDAY) or None,
                note=_first(cells, _NOTE) or None,
            )
        )
    return cards, problems


def _is_email(header: str) -> bool:
    if "mail" not in header or any(word in header for word in ("label", "type", "display")):
        return False
    return header in ("e-mail", "email") or "value" in header or "address" in header


def _is_phone(header: str) -> bool:
    is_phone = any(word in header for word in ("phone", "mobile"))
    return is_phone and not any(word in header for word in ("label", "type"))


def _first(cells: dict[str, str], names: tuple[str, ...]) -> str:
    return next((cells[n] for n in names if cells.get(n)), "")


def _values(row: list[str], columns: list[int]) -> list[str]:
    found: list[str] = []
    for column in columns:
        for value in row[column].split(_SEPARATOR):
            if value.strip() and value.strip() not in found:
                found.append(value.strip())
    return found
