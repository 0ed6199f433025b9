"""The Mail drafts MCP server: settings from the command line and env, one tool, ``main``.

``python server/main.py --drafts DIR --attachments DIR... --from=ADDR --imap-host=H
--imap-port=993 --imap-security=ssl --imap-username=U --imap-folder=Drafts`` with the IMAP
password in ``$IMAP_PASSWORD``. There is no send tool and no SMTP code.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field

from . import compose
from .imap import ImapAccount
from .models import Draft, ImapCopy

_UNSET = re.compile(r"^\$\{user_config\.[^}]+\}$")
DRAFT = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)


def build_server(
    drafts: Path, attachment_roots: list[Path], sender: str, imap: ImapAccount | None
) -> MCPServer:
    server = MCPServer(
        "mail",
        instructions="Drafts email for the user to review and send. It never sends anything.",
        log_level="WARNING",
    )

    @server.tool(annotations=DRAFT)
    def draft_email(
        to: Annotated[
            list[str], Field(min_length=1, description="Recipients: 'Name <a@b.org>' or 'a@b.org'")
        ],
        subject: str,
        body: Annotated[str, Field(description="Plain text")],
        cc: list[str] | None = None,
        attachments: Annotated[
            list[str] | None, Field(description="Absolute paths of files in the attachment directories")
        ] = None,
        save_to_imap: Annotated[
            bool, Field(description="Also put it in the mail account's Drafts folder")
        ] = True,
    ) -> Draft:
        """Write an email draft (a .eml file, and a copy in the IMAP Drafts folder when one is set)
        for the user to review and send. Never sends."""
        recipients = compose.checked_addresses(to, "to")
        copies = compose.checked_addresses(cc or [], "cc")
        files = [compose.allowed_attachment(a, attachment_roots) for a in attachments or []]
        message = compose.compose(
            sender=sender, to=recipients, cc=copies, subject=subject, body=body, attachments=files
        )
        path = compose.write_eml(message, drafts, subject)
        data = path.read_bytes()
        if imap is None:
            copy = ImapCopy(status="not_configured")
        elif not save_to_imap:
            copy = ImapCopy(status="skipped", folder=imap.folder)
        else:
            copy = imap.append(data)
        return Draft(
            path=str(path),
            message_id=str(message["Message-ID"]),
            size_bytes=len(data),
            to=recipients,
            cc=copies,
            subject=subject,
            attachments=[f.name for f in files],
            imap=copy,
        )

    return server


def parse_arguments(argv: list[str]) -> tuple[Path, list[Path], str, ImapAccount | None]:
    parser = argparse.ArgumentParser(prog="mail", allow_abbrev=False)
    parser.add_argument("--drafts", default="")
    parser.add_argument("--attachments", nargs="*", default=[])
    parser.add_argument("--from", dest="sender", default="")
    parser.add_argument("--imap-host", default="")
    parser.add_argument("--imap-port", default="993")
    parser.add_argument("--imap-security", default="ssl")
    parser.add_argument("--imap-username", default="")
    parser.add_argument("--imap-folder", default="Drafts")
    options = parser.parse_args([arg for arg in argv if not _UNSET.match(arg)])
    drafts = Path(_set(options.drafts) or _default_drafts())
    roots = [Path(os.path.realpath(d)) for d in options.attachments if os.path.isdir(d)]
    host = _set(options.imap_host)
    imap = None
    if host:
        imap = ImapAccount(
            host=host,
            port=int(float(_set(options.imap_port) or "993")),
            username=_set(options.imap_username),
            password=_set(os.environ.get("IMAP_PASSWORD", "")),
            security=_set(options.imap_security).lower() or "ssl",
            folder=_set(options.imap_folder) or "Drafts",
        )
    return drafts, roots, _set(options.sender), imap


def _default_drafts() -> str:
    data = os.environ.get("TETHER_EXTENSION_DATA_DIR")
    if data:
        return str(Path(data) / "Drafts")
    import platformdirs

    return str(Path(platformdirs.user_documents_dir()) / "Email drafts")


def _set(value: str) -> str:
    """A setting's value, or "" when the host left it unsubstituted."""
    return "" if "${user_config." in value else value.strip()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    drafts, roots, sender, imap = parse_arguments(sys.argv[1:])
    build_server(drafts, roots, sender, imap).run()
