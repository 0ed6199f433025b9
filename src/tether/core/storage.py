"""The storage the core needs, as Protocols. ``tether.store`` implements them; tests may fake them.

Implementations must be safe with several tether processes on one data dir: every write
is atomic, and ``resolve_approval`` is a compare-and-set from pending.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tether.core.activity import ActivityEvent, ChainReport
from tether.types import ActivityRecord, ApprovalRequest, Effect, SourceConfig, ToolDef, Verdict


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    source: str | None = None
    tool: str | None = None
    kind: str | None = None
    effect: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after_seq: int = 0
    limit: int | None = None
    newest_first: bool = False


@dataclass(frozen=True, slots=True)
class StoredApproval:
    request: ApprovalRequest
    verdict: Verdict | None
    decided_by: str | None
    decided_at: datetime | None


class SourceStore(Protocol):
    async def list_sources(self) -> Sequence[SourceConfig]: ...
    async def get_source(self, name: str) -> SourceConfig: ...
    async def add_source(self, config: SourceConfig) -> None: ...
    async def update_source(self, config: SourceConfig) -> None: ...
    async def remove_source(self, name: str) -> None: ...


class ToolCatalogStore(Protocol):
    async def known_tools(self, source: str) -> Sequence[ToolDef]: ...
    async def save_tools(self, source: str, tools: Sequence[ToolDef], /) -> None: ...


class PolicyStore(Protocol):
    async def get_effect(self, source: str, tool: str) -> Effect | None: ...
    async def set_effect(self, source: str, tool: str, effect: Effect) -> Effect | None:
        """Store ``effect`` and return the one it replaced."""
        ...

    async def all_effects(self) -> dict[tuple[str, str], Effect]: ...


class ApprovalStore(Protocol):
    async def create_approval(self, request: ApprovalRequest) -> None: ...
    async def resolve_approval(self, approval_id: str, verdict: Verdict, decided_by: str) -> bool:
        """Set the verdict if the approval is still pending; False when it was decided already."""
        ...

    async def get_approval(self, approval_id: str) -> StoredApproval: ...
    async def pending_approvals(self) -> Sequence[StoredApproval]: ...
    async def wait_for_verdict(self, approval_id: str) -> Verdict:
        """Return once the approval is decided, by this process or another one."""
        ...


class ActivityStore(Protocol):
    async def append(self, event: ActivityEvent, *, actor: str) -> ActivityRecord: ...
    async def records(self, query: ActivityFilter = ActivityFilter()) -> Sequence[ActivityRecord]: ...
    async def verify(self) -> ChainReport: ...


class Store(SourceStore, ToolCatalogStore, PolicyStore, ApprovalStore, ActivityStore, Protocol):
    """Everything the host needs from storage."""


class SecretStore(Protocol):
    """Secrets (API keys, tokens, sensitive settings) by key; never written to the DB or logs."""

    @property
    def description(self) -> str: ...
    def get_secret(self, key: str) -> str | None: ...
    def set_secret(self, key: str, value: str) -> None: ...
    def delete_secret(self, key: str) -> None: ...
