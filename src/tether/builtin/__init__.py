"""tether's own extensions (files, contacts, calendar, mail drafts), each a plain MCP server.

``builtin_dir(name)`` is a directory ``pack_bundle`` turns into an ``.mcpb``; the installer
installs it like any other bundle. Nothing under those directories imports ``tether``.
"""

from __future__ import annotations

from pathlib import Path

BUILTINS = ("files", "contacts", "calendar", "mail")
DATA_DIR_ENV = "TETHER_EXTENSION_DATA_DIR"
"""The variable each built-in reads its writable data dir from (``extensions/<id>/data``)."""

__all__ = ["BUILTINS", "DATA_DIR_ENV", "builtin_dir"]


def builtin_dir(name: str) -> Path:
    """The bundle source directory of built-in ``name`` (one of ``BUILTINS``)."""
    if name not in BUILTINS:
        raise ValueError(f"no built-in extension '{name}': the built-ins are {', '.join(BUILTINS)}")
    return Path(__file__).parent / name
