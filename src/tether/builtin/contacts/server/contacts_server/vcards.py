"""vCard files (2.1, 3.0, 4.0) read with vobject, one card at a time.

A file is split into BEGIN:VCARD..END:VCARD blocks first, so a malformed card is reported
with the line it starts on and the cards around it still load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import vobject  # pyright: ignore[reportMissingTypeStubs]

from .models import Problem


@dataclass(frozen=True, slots=True)
class CardFields:
    """What the address book keeps of one card; ``key`` is stable while the card is."""

    key: str
    name: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    organization: str | None
    title: str | None
    addresses: tuple[str, ...]
    birthday: str | None
    note: str | None


def read_vcards(text: str, source: str) -> tuple[list[CardFields], list[Problem]]:
    cards: list[CardFields] = []
    problems: list[Problem] = []
    for index, (first_line, block) in enumerate(_blocks(text, source, problems)):
        try:
            component = cast(Any, vobject.readOne(block))
            fields = _fields(component, index)
        except Exception as error:  # vobject raises many kinds on bad input; one card must not stop the rest
            # vobject's own line numbers drift (folded lines), so the card's BEGIN line is given.
            problems.append(
                Problem(source=source, line=first_line, message=f"malformed vCard: {_first_line(error)}")
            )
            continue
        if fields is None:
            problems.append(
                Problem(source=source, line=first_line, message="a vCard with no name and no email")
            )
        else:
            cards.append(fields)
    return cards, problems


def _blocks(text: str, source: str, problems: list[Problem]) -> list[tuple[int, str]]:
    blocks: list[tuple[int, str]] = []
    current: list[str] | None = None
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        upper = line.strip().upper()
        if upper == "BEGIN:VCARD":
            if current is not None:
                problems.append(Problem(source=source, line=start, message="a vCard without END:VCARD"))
            current, start = [line], number
        elif current is not None:
            current.append(line)
            if upper == "END:VCARD":
                blocks.append((start, "\r\n".join(current) + "\r\n"))
                current = None
    if current is not None:
        problems.append(Problem(source=source, line=start, message="a vCard without END:VCARD"))
    return blocks


def _fields(card: Any, index: int) -> CardFields | None:
    contents = cast(dict[str, list[Any]], card.contents)
    emails = tuple(_text(e.value) for e in contents.get("email", []) if _text(e.value))
    name = _single(contents, "fn") or _structured_name(contents) or (emails[0] if emails else "")
    if not name:
        return None
    org = contents.get("org", [])
    organization = "; ".join(_text(part) for part in _as_list(org[0].value) if _text(part)) if org else None
    uid = _single(contents, "uid")
    return CardFields(
        key=f"uid:{uid}" if uid else f"card:{index}",
        name=name,
        emails=emails,
        phones=tuple(_text(t.value) for t in contents.get("tel", []) if _text(t.value)),
        organization=organization or None,
        title=_single(contents, "title"),
        addresses=tuple(
            " ".join(str(a.value).split()) for a in contents.get("adr", []) if str(a.value).strip()
        ),
        birthday=_single(contents, "bday"),
        note=_single(contents, "note"),
    )


def _single(contents: dict[str, list[Any]], key: str) -> str | None:
    items = contents.get(key, [])
    return _text(items[0].value) or None if items else None


def _structured_name(contents: dict[str, list[Any]]) -> str:
    items = contents.get("n", [])
    if not items:
        return ""
    n = items[0].value
    parts = [n.prefix, n.given, n.additional, n.family, n.suffix]
    return " ".join(_text(p) for p in parts if _text(p))


def _as_list(value: Any) -> list[Any]:
    return cast(list[Any], value) if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(_text(v) for v in cast(list[Any], value) if _text(v))
    return str(value).strip() if value is not None else ""


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:200]
