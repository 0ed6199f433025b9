"""An approval as people see it: the tool, where it comes from, what it says about itself, the
arguments pretty-printed. Shared by the Approvals page, the tray on every page and the SSE stream.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tether.core.storage import StoredApproval
from tether.types import ToolAnnotations


@dataclass(frozen=True, slots=True)
class ApprovalView:
    id: str
    tool: str
    source: str
    title: str
    description: str
    hints: tuple[str, ...]
    arguments: str
    asked_by: str
    requested_at: str
    reason: str


def approval_view(stored: StoredApproval) -> ApprovalView:
    request = stored.request
    definition = request.tool.definition
    return ApprovalView(
        id=request.id,
        tool=request.tool.qualified_name,
        source=request.tool.source,
        title=definition.title or definition.annotations.title or definition.name,
        description=definition.description.strip().split("\n")[0][:300],
        hints=hints(definition.annotations),
        arguments=json.dumps(request.arguments, indent=2, ensure_ascii=False, default=str),
        asked_by=str(request.actor),
        requested_at=request.requested_at.astimezone().strftime("%H:%M:%S"),
        reason=request.decision.reason,
    )


def hints(annotations: ToolAnnotations) -> tuple[str, ...]:
    """The annotations a person should see, worst first."""
    found: list[str] = []
    if annotations.destructive:
        found.append("destructive")
    if annotations.open_world:
        found.append("open world")
    if annotations.read_only:
        found.append("read-only")
    if annotations.idempotent:
        found.append("idempotent")
    return tuple(found)
