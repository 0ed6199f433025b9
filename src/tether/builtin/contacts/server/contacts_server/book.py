"""The address book: every configured file and folder, read again when it changes.

Contacts get an id made from their file and their key in it (the vCard UID when there is
one), so ids stay the same across restarts and while the file is edited elsewhere.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .csv_export import read_csv_contacts
from .models import Contact, ContactSummary, Problem
from .vcards import CardFields, read_vcards

MAX_FILES = 20_000
_SUFFIXES = (".vcf", ".vcard", ".csv")


@dataclass
class _Loaded:
    stamp: tuple[int, int]
    contacts: list[Contact]
    problems: list[Problem]


@dataclass
class AddressBook:
    directories: Sequence[str]
    files: Sequence[str]
    _cache: dict[str, _Loaded] = field(default_factory=dict[str, _Loaded])

    def load(self) -> tuple[list[Contact], list[Problem]]:
        contacts: list[Contact] = []
        problems: list[Problem] = []
        for path, problem in self._paths():
            if problem is not None:
                problems.append(problem)
                continue
            loaded = self._load_file(path)
            contacts.extend(loaded.contacts)
            problems.extend(loaded.problems)
        return contacts, problems

    def search(self, query: str) -> tuple[list[Contact], list[Problem]]:
        """Contacts whose name, emails, organization or phones hold every word of ``query``."""
        contacts, problems = self.load()
        words = query.lower().split()
        found = [c for c in contacts if all(w in _haystack(c) for w in words)]
        found.sort(key=lambda c: c.name.lower())
        return found, problems

    def _paths(self) -> list[tuple[Path, Problem | None]]:
        found: list[tuple[Path, Problem | None]] = []
        for directory in self.directories:
            if not os.path.isdir(directory):
                found.append(
                    (Path(directory), Problem(source=directory, message="not a directory (check settings)"))
                )
                continue
            count = 0
            for current, dirnames, filenames in os.walk(directory):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if name.lower().endswith(_SUFFIXES) and count < MAX_FILES:
                        count += 1
                        found.append((Path(current) / name, None))
        for file in self.files:
            problem = (
                None
                if os.path.isfile(file)
                else Problem(source=file, message="no such file (check settings)")
            )
            found.append((Path(file), problem))
        return found

    def _load_file(self, path: Path) -> _Loaded:
        key = str(path)
        try:
            info = path.stat()
            stamp = (info.st_mtime_ns, info.st_size)
            cached = self._cache.get(key)
            if cached is not None and cached.stamp == stamp:
                return cached
            text = path.read_bytes().decode("utf-8-sig", errors="replace")
        except OSError as error:
            return _Loaded((0, 0), [], [Problem(source=key, message=f"cannot read: {error.strerror}")])
        reader = read_csv_contacts if path.suffix.lower() == ".csv" else read_vcards
        cards, problems = reader(text, key)
        loaded = _Loaded(stamp, [_contact(card, key) for card in cards], problems)
        self._cache[key] = loaded
        return loaded


def summary(contact: Contact) -> ContactSummary:
    return ContactSummary(
        id=contact.id,
        name=contact.name,
        emails=contact.emails,
        phones=contact.phones,
        organization=contact.organization,
    )


def _contact(card: CardFields, source: str) -> Contact:
    digest = hashlib.sha256(f"{source}\0{card.key}".encode()).hexdigest()[:16]
    return Contact(
        id=digest,
        name=card.name,
        emails=list(card.emails),
        phones=list(card.phones),
        organization=card.organization,
        title=card.title,
        addresses=list(card.addresses),
        birthday=card.birthday,
        note=card.note,
        source=source,
    )


def _haystack(contact: Contact) -> str:
    digits = " ".join("".join(ch for ch in phone if ch.isdigit()) for phone in contact.phones)
    return " ".join([contact.name, *contact.emails, contact.organization or "", digits]).lower()
