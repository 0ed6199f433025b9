"""Frozen dataclasses shared by every layer.

Plain data only: no I/O, no behaviour beyond small derived properties. Tool content is
kept as JSON-shaped MCP content blocks so a result passes through tether unchanged.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

JSON: TypeAlias = Any
"""A value that survives ``json.dumps``; MCP schemas and arguments are arbitrary JSON."""
JSONObject: TypeAlias = Mapping[str, Any]


class Effect(enum.StrEnum):
    """What the policy says about a tool: ask the user, allow without asking, or never run."""

    ASK = "ask"
    ALLOW = "allow"
    BLOCK = "block"


class SourceKind(enum.StrEnum):
    STDIO = "stdio"
    HTTP = "http"
    SSE = "sse"


class SourceState(enum.StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"
    FAILED = "failed"
    DISABLED = "disabled"
    NOT_CONNECTED = "not_connected"
    NEEDS_SIGN_IN = "needs_sign_in"
    NEEDS_SETTINGS = "needs_settings"


class Verdict(enum.StrEnum):
    """How a pending approval was resolved."""

    APPROVED_ONCE = "approved_once"
    ALWAYS_ALLOWED = "always_allowed"
    DENIED = "denied"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class ToolAnnotations:
    title: str | None = None
    read_only: bool | None = None
    destructive: bool | None = None
    idempotent: bool | None = None
    open_world: bool | None = None


@dataclass(frozen=True, slots=True)
class ToolDef:
    """A tool as its source describes it, under the source's own name for it."""

    name: str
    description: str = ""
    input_schema: JSONObject = field(default_factory=lambda: {"type": "object"})
    output_schema: JSONObject | None = None
    annotations: ToolAnnotations = ToolAnnotations()
    title: str | None = None


@dataclass(frozen=True, slots=True)
class PromptDef:
    name: str
    description: str = ""
    arguments: tuple[JSONObject, ...] = ()


@dataclass(frozen=True, slots=True)
class ResourceDef:
    uri: str
    name: str
    description: str = ""
    mime_type: str | None = None


@dataclass(frozen=True, slots=True)
class ResourceTemplateDef:
    """A family of resources a source can read, named by an RFC 6570 URI template."""

    uri_template: str
    name: str
    description: str = ""
    mime_type: str | None = None


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The outcome of a tool call: MCP content blocks, optional structured content, error flag."""

    content: tuple[JSONObject, ...] = ()
    structured: JSONObject | None = None
    is_error: bool = False

    @property
    def text(self) -> str:
        """The text blocks joined, for people and logs."""
        return "\n".join(str(block.get("text", "")) for block in self.content if block.get("type") == "text")

    @classmethod
    def error(cls, message: str) -> ToolResult:
        return cls(content=({"type": "text", "text": message},), is_error=True)


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """How to reach a source: a local command (stdio) or a remote URL (http, sse)."""

    name: str
    kind: SourceKind = SourceKind.STDIO
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict[str, str])
    cwd: str | None = None
    url: str | None = None
    is_enabled: bool = True
    call_timeout_s: float = 60.0
    skip_approvals: bool = False


@dataclass(frozen=True, slots=True)
class SourceStatus:
    state: SourceState
    detail: str = ""
    restarts: int = 0
    stderr_tail: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asked for something: the CLI user, a web session, a gateway token, the chat."""

    kind: str
    name: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" if self.name else self.kind


@dataclass(frozen=True, slots=True)
class HostedTool:
    """A tool as the host exposes it: qualified name, owning source, definition."""

    qualified_name: str
    source: str
    definition: ToolDef

    @property
    def name(self) -> str:
        return self.definition.name


@dataclass(frozen=True, slots=True)
class Decision:
    """What the policy decided for one call, and why."""

    effect: Effect
    reason: str
    rule: str


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    id: str
    tool: HostedTool
    arguments: JSONObject
    actor: Actor
    requested_at: datetime
    decision: Decision


@dataclass(frozen=True, slots=True)
class ActivityRecord:
    """One stored row of the hash-chained activity log."""

    seq: int
    at: datetime
    kind: str
    actor: str
    source: str | None
    tool: str | None
    data: JSONObject
    prev_hash: str
    hash: str
