"""Build the draft message with the stdlib ``email`` package and write it as a .eml file.

Addresses and the subject are checked (no line breaks, an @ in every address) so nothing
can add headers; attachments must be files inside the allowed attachment directories.
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, formatdate, getaddresses, make_msgid
from pathlib import Path, PurePath

from mcp.server.mcpserver.exceptions import ToolError

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
_SLUG = re.compile(r"[^A-Za-z0-9]+")


def checked_addresses(values: Sequence[str], field: str) -> list[str]:
    found: list[str] = []
    for value in values:
        if "\r" in value or "\n" in value:
            raise ToolError(f"bad_address: {field} '{value!r}' holds a line break")
        for name, address in getaddresses([value]):
            if "@" not in address or address.startswith("@") or address.endswith("@") or " " in address:
                raise ToolError(f"bad_address: {field} '{value}' is not an email address")
            found.append(formataddr((name, address)))
    return found


def allowed_attachment(raw: str, roots: Sequence[Path]) -> Path:
    """The real file ``raw`` names, which must lie inside one of ``roots`` (symlinks resolved)."""
    if not os.path.isabs(raw) or ".." in PurePath(raw).parts:
        raise ToolError(f"bad_path: attachment '{raw}' must be an absolute path without '..'")
    real = Path(os.path.realpath(raw))
    if not any(real == root or root in real.parents for root in roots):
        shown = ", ".join(str(r) for r in roots) or "none (check the extension's settings)"
        raise ToolError(f"outside_allowed: attachment '{raw}' is outside the attachment directories: {shown}")
    if not real.is_file():
        raise ToolError(f"not_found: attachment '{raw}' is not a file")
    return real


def compose(
    *, sender: str, to: list[str], cc: list[str], subject: str, body: str, attachments: Sequence[Path]
) -> EmailMessage:
    if "\r" in subject or "\n" in subject:
        raise ToolError("bad_header: the subject cannot hold line breaks")
    message = EmailMessage()
    if sender:
        message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="tether.draft")
    message["X-Unsent"] = "1"  # Outlook and Thunderbird open the file as a draft to send
    message.set_content(body)
    total = 0
    for path in attachments:
        size = path.stat().st_size
        total += size
        if total > MAX_ATTACHMENT_BYTES:
            raise ToolError(f"attachments_too_large: the attachments pass {MAX_ATTACHMENT_BYTES // 2**20} MB")
        kind, _ = mimetypes.guess_type(path.name)
        maintype, subtype = (kind or "application/octet-stream").split("/", 1)
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return message


def write_eml(message: EmailMessage, drafts: Path, subject: str) -> Path:
    """A new .eml in ``drafts``, named by time and subject; never replaces a file."""
    drafts.mkdir(parents=True, exist_ok=True)
    stem = f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{_SLUG.sub('-', subject).strip('-')[:50] or 'draft'}"
    data = message.as_bytes()
    for number in range(1, 1000):
        path = drafts / (f"{stem}.eml" if number == 1 else f"{stem}-{number}.eml")
        try:
            with path.open("xb") as handle:
                handle.write(data)
        except FileExistsError:
            continue
        return path
    raise ToolError(f"exists: no free file name for the draft in {drafts}")
