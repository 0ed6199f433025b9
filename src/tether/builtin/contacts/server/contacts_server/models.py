"""Contacts as the tools return them (pydantic, so each tool has an output schema)."""

from __future__ import annotations

from pydantic import BaseModel


class Problem(BaseModel):
    """A card, row or file that could not be read; the rest still is."""

    source: str
    line: int | None = None
    message: str


class Contact(BaseModel):
    id: str
    name: str
    emails: list[str] = []
    phones: list[str] = []
    organization: str | None = None
    title: str | None = None
    addresses: list[str] = []
    birthday: str | None = None
    note: str | None = None
    source: str


class ContactSummary(BaseModel):
    id: str
    name: str
    emails: list[str]
    phones: list[str]
    organization: str | None


class ContactSearch(BaseModel):
    query: str
    contacts: list[ContactSummary]
    total_matches: int
    truncated: bool
    problems: list[Problem]
    """Cards and files that could not be read (they are skipped, not fatal)."""
