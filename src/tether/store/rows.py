"""How tether's frozen dataclasses become table rows and come back.

A value that goes through here and back compares equal to the original (mappings come
back as dicts, tuples stay tuples). Timestamps are stored as fixed-shape UTC ISO text so
they sort as text and a hashed ``at`` parses back to an equal datetime with the same
``isoformat()``. No SQL is run here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeAlias, cast

import sqlalchemy as sa

from tether.core.activity import canonical_json
from tether.core.storage import StoredApproval
from tether.types import (
    JSON,
    ActivityRecord,
    Actor,
    ApprovalRequest,
    Decision,
    Effect,
    HostedTool,
    SourceConfig,
    SourceKind,
    ToolAnnotations,
    ToolDef,
    Verdict,
)

AnyRow: TypeAlias = sa.Row[*tuple[Any, ...]]
"""A result row of any shape; columns are read by name."""


def now() -> datetime:
    return datetime.now(UTC)


def to_text(at: datetime) -> str:
    """UTC ISO 8601 with microseconds always present, e.g. ``2025-01-02T03:04:05.000000+00:00``.

    A naive datetime is taken to be UTC already.
    """
    aware = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return aware.isoformat(timespec="microseconds")


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- sources --------------------------------------------------------------------------


def source_values(config: SourceConfig) -> dict[str, Any]:
    return {
        "name": config.name,
        "kind": config.kind.value,
        "command": config.command,
        "args": list(config.args),
        "env": dict(config.env),
        "cwd": config.cwd,
        "url": config.url,
        "is_enabled": config.is_enabled,
        "call_timeout_s": config.call_timeout_s,
        "skip_approvals": config.skip_approvals,
    }


def source_from_row(row: AnyRow) -> SourceConfig:
    return SourceConfig(
        name=row.name,
        kind=SourceKind(row.kind),
        command=row.command,
        args=tuple(cast(list[str], row.args)),
        env=dict(cast(dict[str, str], row.env)),
        cwd=row.cwd,
        url=row.url,
        is_enabled=bool(row.is_enabled),
        call_timeout_s=float(row.call_timeout_s),
        skip_approvals=bool(row.skip_approvals),
    )


# -- tools ----------------------------------------------------------------------------


def tool_to_json(tool: ToolDef) -> dict[str, JSON]:
    notes = tool.annotations
    return {
        "name": tool.name,
        "title": tool.title,
        "description": tool.description,
        "input_schema": dict(tool.input_schema),
        "output_schema": dict(tool.output_schema) if tool.output_schema is not None else None,
        "annotations": {
            "title": notes.title,
            "read_only": notes.read_only,
            "destructive": notes.destructive,
            "idempotent": notes.idempotent,
            "open_world": notes.open_world,
        },
    }


def tool_from_json(value: Mapping[str, Any]) -> ToolDef:
    notes = cast(Mapping[str, Any], value.get("annotations") or {})
    output_schema = cast(Mapping[str, Any] | None, value.get("output_schema"))
    return ToolDef(
        name=value["name"],
        title=value.get("title"),
        description=value.get("description", ""),
        input_schema=dict(cast(Mapping[str, Any], value["input_schema"])),
        output_schema=dict(output_schema) if output_schema is not None else None,
        annotations=ToolAnnotations(
            title=notes.get("title"),
            read_only=notes.get("read_only"),
            destructive=notes.get("destructive"),
            idempotent=notes.get("idempotent"),
            open_world=notes.get("open_world"),
        ),
    )


# -- approvals ------------------------------------------------------------------------


def approval_values(request: ApprovalRequest) -> dict[str, Any]:
    decision = request.decision
    return {
        "id": request.id,
        "source": request.tool.source,
        "tool": request.tool.name,
        "qualified_name": request.tool.qualified_name,
        "definition": tool_to_json(request.tool.definition),
        "arguments": json.loads(canonical_json(request.arguments)),
        "actor": str(request.actor),
        "decision": {"effect": decision.effect.value, "reason": decision.reason, "rule": decision.rule},
        "requested_at": to_text(request.requested_at),
        "verdict": None,
        "decided_by": None,
        "decided_at": None,
    }


def approval_from_row(row: AnyRow) -> StoredApproval:
    decision = cast(Mapping[str, str], row.decision)
    request = ApprovalRequest(
        id=row.id,
        tool=HostedTool(row.qualified_name, row.source, tool_from_json(row.definition)),
        arguments=dict(cast(Mapping[str, Any], row.arguments)),
        actor=actor_from_text(row.actor),
        requested_at=from_text(row.requested_at),
        decision=Decision(Effect(decision["effect"]), decision["reason"], decision["rule"]),
    )
    return StoredApproval(
        request=request,
        verdict=Verdict(row.verdict) if row.verdict is not None else None,
        decided_by=row.decided_by,
        decided_at=from_text(row.decided_at) if row.decided_at is not None else None,
    )


def actor_from_text(text: str) -> Actor:
    """The inverse of ``str(Actor)``: ``kind:name``, or a bare ``kind``. Kinds have no colon."""
    kind, _, name = text.partition(":")
    return Actor(kind, name)


# -- activity -------------------------------------------------------------------------


def activity_values(record: ActivityRecord) -> dict[str, Any]:
    return {
        "seq": record.seq,
        "at": to_text(record.at),
        "kind": record.kind,
        "actor": record.actor,
        "source": record.source,
        "tool": record.tool,
        "data": canonical_json(record.data),
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }


def activity_from_row(row: AnyRow) -> ActivityRecord:
    return ActivityRecord(
        seq=row.seq,
        at=datetime.fromisoformat(row.at),
        kind=row.kind,
        actor=row.actor,
        source=row.source,
        tool=row.tool,
        data=json.loads(row.data),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
