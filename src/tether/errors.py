"""The one error tree of tether.

Every error carries a stable ``code`` (what interfaces map to exit codes, HTTP status and
JSON-RPC errors, each in one table) and a message that tells the user what to do.
Control-flow signals are not errors and do not live here.

    TetherError
    ├── UsageError               bad input from the user: a name, a JSON file, a setting
    │   ├── InvalidName
    │   ├── InvalidArguments     arguments that fail a tool's input schema
    │   └── ImportFormatError    an mcpServers file that cannot be read
    ├── NotFound
    │   ├── UnknownSource
    │   ├── UnknownTool
    │   └── UnknownApproval
    ├── AlreadyExists
    ├── Refused                  the user's rules said no
    │   ├── ToolBlocked
    │   ├── ApprovalDenied
    │   └── ApprovalExpired
    ├── Conflict                 somebody else decided or changed it first
    ├── SourceError              a source failed to start, answer or finish
    │   ├── SourceUnavailable
    │   └── SourceTimeout
    └── StoreError               the data dir or database cannot be used
        └── ChainBroken          the activity hash chain does not verify
"""

from __future__ import annotations


class TetherError(Exception):
    """Base of every error tether raises on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(TetherError):
    code = "usage"


class InvalidName(UsageError):
    code = "invalid_name"


class InvalidArguments(UsageError):
    code = "invalid_arguments"


class ImportFormatError(UsageError):
    code = "import_format"


class NotFound(TetherError):
    code = "not_found"


class UnknownSource(NotFound):
    code = "unknown_source"


class UnknownTool(NotFound):
    code = "unknown_tool"


class UnknownApproval(NotFound):
    code = "unknown_approval"


class AlreadyExists(TetherError):
    code = "already_exists"


class Refused(TetherError):
    code = "refused"


class ToolBlocked(Refused):
    code = "tool_blocked"


class ApprovalDenied(Refused):
    code = "approval_denied"


class ApprovalExpired(Refused):
    code = "approval_expired"


class Conflict(TetherError):
    code = "conflict"


class SourceError(TetherError):
    code = "source_error"


class SourceUnavailable(SourceError):
    code = "source_unavailable"


class SourceTimeout(SourceError):
    code = "source_timeout"


class StoreError(TetherError):
    code = "store_error"


class ChainBroken(StoreError):
    code = "chain_broken"
