"""Fakes behind the seams DESIGN.md names: a ToolSource, the storage Protocols, an Approver.

They hold state in memory and behave like the real ones where the core can tell; the real
SQLite store and real stdio servers are tested at the edges.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime

import anyio
import anyio.abc

from tether.core.activity import GENESIS_HASH, ActivityEvent, ActivityPruned, ChainReport, seal, verify_chain
from tether.core.storage import ActivityFilter, StoredApproval, ToolPolicy
from tether.errors import AlreadyExists, UnknownApproval, UnknownSource
from tether.types import (
    JSON,
    ActivityRecord,
    ApprovalRequest,
    Effect,
    JSONObject,
    PromptDef,
    ResourceDef,
    SourceConfig,
    SourceState,
    SourceStatus,
    ToolDef,
    ToolResult,
    Verdict,
)

Handler = Callable[[Mapping[str, JSON]], Awaitable[ToolResult]]


def text_result(text: str) -> ToolResult:
    return ToolResult(content=({"type": "text", "text": text},))


class FakeSource:
    """A source whose tools are Python callables."""

    def __init__(self, name: str, tools: Mapping[str, tuple[ToolDef, Handler]] | None = None) -> None:
        self._name = name
        self.tools = dict(tools or {})
        self.calls: list[tuple[str, Mapping[str, JSON]]] = []
        self._closed = anyio.Event()
        self._state = SourceState.STOPPED

    @classmethod
    def echo(cls, name: str = "fake") -> FakeSource:
        async def echo(arguments: Mapping[str, JSON]) -> ToolResult:
            return text_result(str(arguments.get("text", "")))

        schema = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
        return cls(name, {"echo": (ToolDef("echo", "Echo text back.", schema), echo)})

    @property
    def name(self) -> str:
        return self._name

    @property
    def status(self) -> SourceStatus:
        return SourceStatus(self._state)

    async def run(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        self._state = SourceState.RUNNING
        task_status.started()
        await self._closed.wait()
        self._state = SourceState.STOPPED

    async def list_tools(self) -> Sequence[ToolDef]:
        return [definition for definition, _ in self.tools.values()]

    async def list_prompts(self) -> Sequence[PromptDef]:
        return []

    async def list_resources(self) -> Sequence[ResourceDef]:
        return []

    async def call_tool(self, name: str, arguments: Mapping[str, JSON]) -> ToolResult:
        self.calls.append((name, arguments))
        return await self.tools[name][1](arguments)

    async def close(self) -> None:
        self._closed.set()


class MemoryStore:
    """Implements tether.core.storage.Store in memory."""

    def __init__(self) -> None:
        self.sources: dict[str, SourceConfig] = {}
        self.catalog: dict[str, list[ToolDef]] = {}
        self.effects: dict[tuple[str, str], Effect] = {}
        self.pins: dict[tuple[str, str], tuple[ToolDef, str]] = {}
        self.settings: dict[str, JSON] = {}
        self.approvals: dict[str, StoredApproval] = {}
        self.activity: list[ActivityRecord] = []
        self.checkpoint: tuple[int, str] = (0, GENESIS_HASH)
        """The seq and hash of the last pruned row: where the chain starts."""
        self._decided = anyio.Event()

    async def list_sources(self) -> Sequence[SourceConfig]:
        return list(self.sources.values())

    async def get_source(self, name: str) -> SourceConfig:
        if name not in self.sources:
            raise UnknownSource(name)
        return self.sources[name]

    async def add_source(self, config: SourceConfig) -> None:
        if config.name in self.sources:
            raise AlreadyExists(config.name)
        self.sources[config.name] = config

    async def update_source(self, config: SourceConfig) -> None:
        await self.get_source(config.name)
        self.sources[config.name] = config

    async def remove_source(self, name: str) -> None:
        await self.get_source(name)
        del self.sources[name]

    async def known_tools(self, source: str) -> Sequence[ToolDef]:
        return self.catalog.get(source, [])

    async def save_tools(self, source: str, tools: Sequence[ToolDef]) -> None:
        self.catalog[source] = list(tools)

    async def get_effect(self, source: str, tool: str) -> Effect | None:
        return self.effects.get((source, tool))

    async def get_policy(self, source: str, tool: str) -> ToolPolicy:
        pinned = self.pins.get((source, tool))
        return ToolPolicy(self.effects.get((source, tool)), *(pinned or (None, None)))

    async def set_pin(self, source: str, tool: str, definition: ToolDef, definition_hash: str) -> None:
        self.pins[(source, tool)] = (definition, definition_hash)

    async def get_setting(self, key: str) -> JSON | None:
        return self.settings.get(key)

    async def set_setting(self, key: str, value: JSON) -> None:
        self.settings[key] = value

    async def set_effect(self, source: str, tool: str, effect: Effect) -> Effect | None:
        previous = self.effects.get((source, tool))
        self.effects[(source, tool)] = effect
        return previous

    async def all_effects(self) -> dict[tuple[str, str], Effect]:
        return dict(self.effects)

    async def create_approval(self, request: ApprovalRequest) -> None:
        self.approvals[request.id] = StoredApproval(request, None, None, None)

    async def resolve_approval(self, approval_id: str, verdict: Verdict, decided_by: str) -> bool:
        stored = await self.get_approval(approval_id)
        if stored.verdict is not None:
            return False
        self.approvals[approval_id] = dataclasses.replace(
            stored, verdict=verdict, decided_by=decided_by, decided_at=datetime.now(UTC)
        )
        self._decided.set()
        self._decided = anyio.Event()
        return True

    async def get_approval(self, approval_id: str) -> StoredApproval:
        if approval_id not in self.approvals:
            raise UnknownApproval(approval_id)
        return self.approvals[approval_id]

    async def pending_approvals(self) -> Sequence[StoredApproval]:
        return [a for a in self.approvals.values() if a.verdict is None]

    async def wait_for_verdict(self, approval_id: str) -> Verdict:
        while (verdict := (await self.get_approval(approval_id)).verdict) is None:
            await self._decided.wait()
        return verdict

    async def append(self, event: ActivityEvent, *, actor: str) -> ActivityRecord:
        seq, prev = (self.activity[-1].seq, self.activity[-1].hash) if self.activity else self.checkpoint
        record = seal(event, actor=actor, at=datetime.now(UTC), seq=seq + 1, prev_hash=prev)
        self.activity.append(record)
        return record

    async def records(self, query: ActivityFilter | None = None) -> Sequence[ActivityRecord]:
        query = query or ActivityFilter()
        rows = [
            r
            for r in self.activity
            if (query.source is None or r.source == query.source)
            and (query.tool is None or r.tool == query.tool)
            and (query.kind is None or r.kind == query.kind)
            and r.seq > query.after_seq
            and (query.before_seq is None or r.seq < query.before_seq)
        ]
        return rows[: query.limit] if query.limit else rows

    async def verify(self) -> ChainReport:
        seq, prev = self.checkpoint
        return verify_chain(self.activity, start_hash=prev, start_seq=seq + 1)

    async def prune(
        self, *, older_than: datetime | None = None, keep_rows: int | None = None, actor: str
    ) -> ActivityRecord | None:
        cut = 0 if keep_rows is None else max(0, len(self.activity) - keep_rows)
        if older_than is not None:
            cut = max(
                cut, next((n for n, r in enumerate(self.activity) if r.at >= older_than), len(self.activity))
            )
        if cut == 0:
            return None
        through = self.activity[cut - 1]
        self.checkpoint = (through.seq, through.hash)
        del self.activity[:cut]
        event = ActivityPruned(
            removed=cut,
            through_seq=through.seq,
            through_hash=through.hash,
            older_than=older_than.isoformat() if older_than is not None else None,
            keep_rows=keep_rows,
        )
        return await self.append(event, actor=actor)


class ScriptedApprover:
    """Answers every approval with the next verdict from a script, after an optional gate."""

    def __init__(self, *verdicts: Verdict, name: str = "scripted") -> None:
        self._name = name
        self.verdicts = list(verdicts)
        self.seen: list[ApprovalRequest] = []
        self.gate: anyio.Event | None = None

    @property
    def name(self) -> str:
        return self._name

    async def decide(self, request: ApprovalRequest) -> Verdict:
        self.seen.append(request)
        if self.gate is not None:
            await self.gate.wait()
        return self.verdicts.pop(0)


class SilentApprover:
    """Never answers: leaves the decision to someone else or to the timeout."""

    name = "silent"

    async def decide(self, request: ApprovalRequest) -> Verdict:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")


class RecordingPeer:
    """A ``CallPeer`` (the client waiting on a call) that answers from a script and records."""

    def __init__(self, *, said: str = "hi from the model", colour: str = "teal") -> None:
        self.said = said
        self.colour = colour
        self.asked: list[tuple[str, str, JSONObject]] = []
        self.logged: list[tuple[str, str, str | None, JSON]] = []

    async def create_message(self, source: str, params: JSONObject) -> JSONObject:
        self.asked.append(("sampling", source, params))
        return {"role": "assistant", "content": {"type": "text", "text": self.said}, "model": "scripted"}

    async def elicit(self, source: str, params: JSONObject) -> JSONObject:
        self.asked.append(("elicitation", source, params))
        return {"action": "accept", "content": {"colour": self.colour}}

    async def log(self, source: str, level: str, logger: str | None, data: JSON) -> None:
        self.logged.append((source, level, logger, data))
