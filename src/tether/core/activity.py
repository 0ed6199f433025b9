"""Activity events and the hash chain that makes the log tamper-evident.

Each event is a small frozen dataclass; ``seal`` turns one into a record whose hash
covers its content and the previous record's hash, so editing, deleting or reordering
a stored row breaks the chain at that row. Storage is elsewhere (``ActivityStore``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, cast

from tether.types import JSON, ActivityRecord, JSONObject

GENESIS_HASH = "0" * 64
REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    """Base of every event. ``kind`` names it in storage; fields become the row's data."""

    kind: ClassVar[str] = "event"
    source: str | None = None
    tool: str | None = None

    def data(self) -> dict[str, JSON]:
        return {
            f.name: _jsonable(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name not in ("source", "tool")
        }


@dataclass(frozen=True, slots=True)
class ToolCalled(ActivityEvent):
    kind: ClassVar[str] = "tool.called"
    arguments: JSONObject = field(default_factory=dict[str, Any])
    effect: str = ""
    reason: str = ""
    rule: str = ""
    verdict: str | None = None
    outcome: str = "ok"
    """ok, tool_error (the tool answered with isError), failed, refused, cancelled."""
    error: str | None = None
    duration_ms: float = 0.0
    result_bytes: int = 0


@dataclass(frozen=True, slots=True)
class ApprovalResolved(ActivityEvent):
    kind: ClassVar[str] = "approval.resolved"
    approval_id: str = ""
    verdict: str = ""
    decided_by: str = ""


@dataclass(frozen=True, slots=True)
class PolicyChanged(ActivityEvent):
    kind: ClassVar[str] = "policy.changed"
    effect: str = ""
    previous: str | None = None


@dataclass(frozen=True, slots=True)
class SourceAdded(ActivityEvent):
    kind: ClassVar[str] = "source.added"
    config: JSONObject = field(default_factory=dict[str, Any])


@dataclass(frozen=True, slots=True)
class SourceRemoved(ActivityEvent):
    kind: ClassVar[str] = "source.removed"


@dataclass(frozen=True, slots=True)
class SourceToggled(ActivityEvent):
    kind: ClassVar[str] = "source.toggled"
    is_enabled: bool = True


@dataclass(frozen=True, slots=True)
class ToolsChanged(ActivityEvent):
    """A source presented tool definitions different from the ones stored before."""

    kind: ClassVar[str] = "tools.changed"
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()


def _jsonable(value: object) -> JSON:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in cast(Sequence[object], value)]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in cast(Mapping[object, object], value).items()}
    return value


def canonical_json(value: JSON) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(
    *,
    seq: int,
    at: datetime,
    kind: str,
    actor: str,
    source: str | None,
    tool: str | None,
    data: JSONObject,
    prev_hash: str,
) -> str:
    body = canonical_json(
        {
            "seq": seq,
            "at": at.isoformat(),
            "kind": kind,
            "actor": actor,
            "source": source,
            "tool": tool,
            "data": data,
            "prev": prev_hash,
        }
    )
    return hashlib.sha256(body.encode()).hexdigest()


def seal(event: ActivityEvent, *, actor: str, at: datetime, seq: int, prev_hash: str) -> ActivityRecord:
    """The record that follows ``prev_hash`` at position ``seq``."""
    data = event.data()
    digest = record_hash(
        seq=seq,
        at=at,
        kind=event.kind,
        actor=actor,
        source=event.source,
        tool=event.tool,
        data=data,
        prev_hash=prev_hash,
    )
    return ActivityRecord(
        seq=seq,
        at=at,
        kind=event.kind,
        actor=actor,
        source=event.source,
        tool=event.tool,
        data=data,
        prev_hash=prev_hash,
        hash=digest,
    )


@dataclass(frozen=True, slots=True)
class ChainReport:
    checked: int
    first_broken_seq: int | None = None
    problem: str = ""

    @property
    def is_intact(self) -> bool:
        return self.first_broken_seq is None


def verify_chain(
    records: Iterable[ActivityRecord], *, start_hash: str = GENESIS_HASH, start_seq: int = 1
) -> ChainReport:
    """Check hashes, links and sequence numbers in order; name the first row that breaks."""
    expected_prev, expected_seq, checked = start_hash, start_seq, 0
    for record in records:
        if record.seq != expected_seq:
            return ChainReport(
                checked,
                record.seq,
                f"row {record.seq} follows row {expected_seq - 1}: rows are missing or reordered",
            )
        if record.prev_hash != expected_prev:
            return ChainReport(checked, record.seq, f"row {record.seq} does not link to row {record.seq - 1}")
        digest = record_hash(
            seq=record.seq,
            at=record.at,
            kind=record.kind,
            actor=record.actor,
            source=record.source,
            tool=record.tool,
            data=record.data,
            prev_hash=record.prev_hash,
        )
        if digest != record.hash:
            return ChainReport(checked, record.seq, f"row {record.seq} was changed after it was written")
        expected_prev, expected_seq, checked = record.hash, record.seq + 1, checked + 1
    return ChainReport(checked)


MAX_LOGGED_ARGUMENTS_BYTES = 64 * 1024


def arguments_for_log(arguments: JSONObject) -> JSONObject:
    """Arguments as stored in the log: whole when small, else a preview and the full value's hash."""
    text = canonical_json(arguments)
    if len(text) <= MAX_LOGGED_ARGUMENTS_BYTES:
        return dict(arguments)
    return {
        "truncated": True,
        "size_bytes": len(text.encode()),
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "preview": text[:4096],
    }
