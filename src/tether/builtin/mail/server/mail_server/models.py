"""What draft_email returns (pydantic, so the tool has an output schema)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class ImapCopy(BaseModel):
    status: Literal["appended", "not_configured", "skipped", "failed"]
    folder: str | None = None
    detail: str = ""


class Draft(BaseModel):
    path: str
    """The .eml file: open it in a mail program to review and send."""
    message_id: str
    size_bytes: int
    to: list[str]
    cc: list[str]
    subject: str
    attachments: list[str]
    imap: ImapCopy
