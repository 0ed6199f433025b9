"""The Contacts MCP server: settings from the command line, two read-only tools, ``main``.

``python server/main.py --directories DIR... --files FILE...``; arguments the host left as
``${user_config.KEY}`` (a setting nobody set) are ignored.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from .book import AddressBook, summary
from .models import Contact, ContactSearch

_UNSET = re.compile(r"^\$\{user_config\.[^}]+\}$")
READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


def build_server(book: AddressBook) -> MCPServer:
    server = MCPServer(
        "contacts",
        instructions="The user's address book (vCard and CSV exports). Read-only.",
        log_level="WARNING",
    )

    @server.tool(annotations=READ)
    def search_contacts(
        query: Annotated[str, Field(description="Words to find in names, emails, organizations, phones")],
        limit: Annotated[int, Field(ge=1, le=500)] = 25,
    ) -> ContactSearch:
        """Find contacts by name, email address, organization or phone number; an empty query lists all."""
        found, problems = book.search(query)
        return ContactSearch(
            query=query,
            contacts=[summary(c) for c in found[:limit]],
            total_matches=len(found),
            truncated=len(found) > limit,
            problems=problems,
        )

    @server.tool(annotations=READ)
    def get_contact(id: Annotated[str, Field(description="An id from search_contacts")]) -> Contact:
        """Everything known about one contact: emails, phones, organization, addresses, birthday, note."""
        contacts, _ = book.load()
        for contact in contacts:
            if contact.id == id:
                return contact
        raise ToolError(f"unknown_contact: no contact with id '{id}': search_contacts lists the ids")

    return server


def parse_arguments(argv: list[str]) -> AddressBook:
    parser = argparse.ArgumentParser(prog="contacts", allow_abbrev=False)
    parser.add_argument("--directories", nargs="*", default=[])
    parser.add_argument("--files", nargs="*", default=[])
    options = parser.parse_args([arg for arg in argv if not _UNSET.match(arg)])
    return AddressBook(directories=list(options.directories), files=list(options.files))


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    build_server(parse_arguments(sys.argv[1:])).run()
