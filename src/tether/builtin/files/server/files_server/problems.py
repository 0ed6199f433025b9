"""Tool failures the model can act on: ``Refused(code, message)`` reaches the client as
``is_error`` with the text ``"<code>: <message>"``, so callers can match the stable code.

Anything else raised in a tool is a crash the SDK hides from the client.
"""

from __future__ import annotations

from mcp.server.mcpserver.exceptions import ToolError

BAD_PATH = "bad_path"
OUTSIDE_ALLOWED = "outside_allowed"
NOT_FOUND = "not_found"
EXISTS = "exists"
NOT_A_DIRECTORY = "not_a_directory"
NOT_A_FILE = "not_a_file"
NOT_TEXT = "not_text"
PDF_ENCRYPTED = "pdf_encrypted"
PDF_DAMAGED = "pdf_damaged"
BAD_PAGES = "bad_pages"
UNKNOWN_PLAN = "unknown_plan"
OS_ERROR = "os_error"


class Refused(ToolError):
    """A call refused for a reason the caller can fix; ``code`` is stable, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def os_refusal(error: OSError, action: str) -> Refused:
    """An OSError during ``action``, said plainly (the path is in the message already)."""
    return Refused(OS_ERROR, f"could not {action}: {error.strerror or error}")
