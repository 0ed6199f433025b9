"""Activity events and the hash chain that makes the log tamper-evident.

Each event is a small frozen dataclass; ``seal`` turns one into a record whose hash
covers its content and the previous record's hash, so editing, deleting or reordering
a stored row breaks the chain at that row. Storage is elsewhere (``ActivityStore``).
"""

from __future__ import annotations

import dataclasses
import functools
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
        return {name: _jsonable(getattr(self, name)) for name in _data_fields(type(self))}


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
class RuleToggled(ActivityEvent):
    kind: ClassVar[str] = "policy.rule"
    rule: str = ""
    is_on: bool = False


@dataclass(frozen=True, slots=True)
class ToolReviewed(ActivityEvent):
    """A person accepted a changed tool definition (by approving a call or ``tools review``)."""

    kind: ClassVar[str] = "tool.reviewed"
    previous_hash: str = ""
    definition_hash: str = ""


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
class SourceChanged(ActivityEvent):
    """A setting of a source changed (never a secret: those are not recorded)."""

    kind: ClassVar[str] = "source.changed"
    setting: str = ""
    value: JSON = None


@dataclass(frozen=True, slots=True)
class ToolsChanged(ActivityEvent):
    """A source presented tool definitions different from the ones stored before."""

    kind: ClassVar[str] = "tools.changed"
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ActivityPruned(ActivityEvent):
    """Old rows were removed; the chain now starts after row ``through_seq``, whose hash it keeps."""

    kind: ClassVar[str] = "activity.pruned"
    removed: int = 0
    through_seq: int = 0
    through_hash: str = ""
    older_than: str | None = None
    """The age limit asked for, as an ISO time; None when pruned by count only."""
    keep_rows: int | None = None


@dataclass(frozen=True, slots=True)
class ExtensionInstalled(ActivityEvent):
    """An extension was installed. ``settings`` shows sensitive values as ``[redacted]``."""

    kind: ClassVar[str] = "extension.installed"
    version: str = ""
    signature: str = ""
    signer: str | None = None
    settings: JSONObject = field(default_factory=dict[str, Any])
    declared_tools: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ExtensionUpdated(ActivityEvent):
    """An extension moved to another version; ``outcome`` is ``updated`` or ``rolled_back``."""

    kind: ClassVar[str] = "extension.updated"
    previous_version: str = ""
    version: str = ""
    signature: str = ""
    signer: str | None = None
    outcome: str = "updated"
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ExtensionRemoved(ActivityEvent):
    kind: ClassVar[str] = "extension.removed"
    version: str = ""


@dataclass(frozen=True, slots=True)
class ExtensionConfigured(ActivityEvent):
    """Settings changed; sensitive values appear as ``[redacted]``, removed ones as None."""

    kind: ClassVar[str] = "extension.configured"
    changed: JSONObject = field(default_factory=dict[str, Any])


@dataclass(frozen=True, slots=True)
class ExtensionToolsDiffer(ActivityEvent):
    """After a start, the server listed other tools than its manifest declared."""

    kind: ClassVar[str] = "extension.tools_differ"
    undeclared: tuple[str, ...] = ()
    """Listed by the server, not declared in the manifest."""
    not_listed: tuple[str, ...] = ()
    """Declared in the manifest, not listed by the server."""
    tools_generated: bool = False


@functools.cache
def _data_fields(cls: type[ActivityEvent]) -> tuple[str, ...]:
    # Every call is recorded, so this runs per call: dataclasses.fields() is slow to repeat.
    return tuple(f.name for f in dataclasses.fields(cls) if f.name not in ("source", "tool"))


def _jsonable(value: object) -> JSON:
    if value is None or type(value) in (str, int, float, bool):
        return cast(JSON, value)
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in cast(Sequence[object], value)]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in cast(Mapping[object, object], value).items()}
    return value


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_json(value: JSON) -> str:
    return _CANONICAL.encode(value)


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
