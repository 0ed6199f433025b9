"""The storage the core needs, as Protocols. ``tether.store`` implements them; tests may fake them.

Implementations must be safe with several tether processes on one data dir: every write
is atomic, and ``resolve_approval`` is a compare-and-set from pending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from tether.core.activity import ActivityEvent, ChainReport
from tether.types import (
    JSON,
    ActivityRecord,
    ApprovalRequest,
    Effect,
    JSONObject,
    SourceConfig,
    ToolDef,
    Verdict,
)


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    source: str | None = None
    tool: str | None = None
    kind: str | None = None
    effect: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after_seq: int = 0
    before_seq: int | None = None
    """Only rows older than this seq (keyset pagination, newest first)."""
    limit: int | None = None
    newest_first: bool = False


@dataclass(frozen=True, slots=True)
class ToolPolicy:
    """What is stored for one tool: its permission and the definition a person approved."""

    effect: Effect | None = None
    pinned: ToolDef | None = None
    pinned_hash: str | None = None


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
    async def get_policy(self, source: str, tool: str) -> ToolPolicy: ...
    async def set_pin(self, source: str, tool: str, definition: ToolDef, definition_hash: str) -> None:
        """Remember ``definition`` as the one a person approved for this tool."""
        ...

    async def set_effect(self, source: str, tool: str, effect: Effect) -> Effect | None:
        """Store ``effect`` and return the one it replaced."""
        ...

    async def all_effects(self) -> dict[tuple[str, str], Effect]: ...


class SettingsStore(Protocol):
    """Small JSON values by key, shared by every tether process on the data dir (e.g. policy rules)."""

    async def get_setting(self, key: str) -> JSON | None: ...
    async def set_setting(self, key: str, value: JSON) -> None: ...


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
    async def prune(
        self, *, older_than: datetime | None = None, keep_rows: int | None = None, actor: str
    ) -> ActivityRecord | None:
        """Remove the oldest rows (before ``older_than``; all but the newest ``keep_rows``), keeping
        the rest verifiable from a checkpoint; record it as ``ActivityPruned`` and return that row.

        None when nothing was removed; ``ChainBroken`` (nothing removed) when those rows do not verify.
        """
        ...


class Store(
    SourceStore, ToolCatalogStore, PolicyStore, SettingsStore, ApprovalStore, ActivityStore, Protocol
):
    """Everything the host needs from storage."""


class SecretStore(Protocol):
    """Secrets (API keys, tokens, sensitive settings) by key; never written to the DB or logs."""

    @property
    def description(self) -> str: ...
    def get_secret(self, key: str) -> str | None: ...
    def set_secret(self, key: str, value: str) -> None: ...
    def delete_secret(self, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class GatewayToken:
    """A bearer token for the HTTP gateway, as stored: only its SHA-256, never the token itself."""

    name: str
    token_hash: str
    sources: tuple[str, ...] | None = None
    """The sources the token reaches; None means every enabled source."""
    uses_tool_search: bool = False
    created_at: datetime | None = None
    revoked_at: datetime | None = None


class TokenStore(Protocol):
    """Gateway tokens. A name is unique among tokens that are not revoked."""

    async def add_token(self, token: GatewayToken) -> None:
        """Store a new token; AlreadyExists when an active token has that name."""
        ...

    async def token_by_hash(self, token_hash: str) -> GatewayToken | None:
        """The active token with this hash, or None (unknown or revoked)."""
        ...

    async def list_tokens(self) -> Sequence[GatewayToken]:
        """Active tokens, oldest first."""
        ...

    async def revoke_token(self, name: str) -> GatewayToken:
        """Mark the active token ``name`` revoked and return it; NotFound when there is none."""
        ...


@dataclass(frozen=True, slots=True)
class ChatToolCall:
    """One tool call the assistant made, linked to the activity row ``Host.call_tool`` wrote."""

    id: str
    """The model's id for the call, unique within its conversation."""
    tool: str
    arguments: JSONObject
    status: str
    """waiting (for approval), ok, tool_error, failed, refused, invalid, unknown, cancelled."""
    result: str = ""
    """What the model was shown (truncated with a note when the tool's answer was huge)."""
    activity_seq: int | None = None
    """The seq of the ``tool.called`` activity row; None when the call never reached the host."""
    approval_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A message of a conversation: the user's, the assistant's (one per model response), or a notice."""

    id: str
    role: str
    """user, assistant or notice (tether telling the user something, e.g. a stopped run)."""
    text: str
    created_at: datetime
    tool_calls: tuple[ChatToolCall, ...] = ()
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    model: str | None = None
    """The configured model's name; None means the default model."""
    sources: tuple[str, ...] | None = None
    """The sources whose tools the assistant may use; None means every enabled source."""
    pending: Mapping[str, str] = field(default_factory=dict[str, str])
    """Tool calls waiting for approval: the model's call id -> the approval id."""


class ConversationStore(Protocol):
    """Assistant conversations: what is shown (messages) and what the model remembers (history)."""

    async def save_conversation(
        self, conversation: Conversation, *, history: str | None = None, messages: Sequence[ChatMessage] = ()
    ) -> None:
        """Create or update ``conversation`` (its model history too when given, as opaque JSON text)
        and insert or update ``messages`` with their tool calls, all in one transaction."""
        ...

    async def get_conversation(self, conversation_id: str) -> Conversation: ...
    async def conversation_history(self, conversation_id: str) -> str:
        """The model history saved last, as the JSON text given to ``save_conversation``."""
        ...

    async def list_conversations(self) -> Sequence[Conversation]:
        """Every conversation, the one updated last first."""
        ...

    async def conversation_messages(self, conversation_id: str) -> Sequence[ChatMessage]:
        """The messages in the order they were first saved, each with its tool calls."""
        ...

    async def delete_conversation(self, conversation_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class InstalledExtension:
    """An extension as stored: its manifest, where it is unpacked, its non-sensitive settings.

    ``id`` is also the name of its source (kind stdio); sensitive settings live in the
    ``SecretStore``, never here.
    """

    id: str
    version: str
    manifest: JSONObject
    install_dir: str
    signature: str
    """unsigned, signed, self_signed or untrusted (an invalid signature is never installed)."""
    signer: str | None
    settings: JSONObject
    installed_at: datetime
    updated_at: datetime


class ExtensionStore(Protocol):
    """Installed extensions. Each one is registered together with its source, in one transaction."""

    async def list_extensions(self) -> Sequence[InstalledExtension]: ...
    async def get_extension(self, extension_id: str) -> InstalledExtension:
        """Raises UnknownExtension."""
        ...

    async def add_extension(self, extension: InstalledExtension, source: SourceConfig) -> None:
        """Register the extension and its source; AlreadyExists when either name is taken."""
        ...

    async def replace_extension(self, extension: InstalledExtension) -> None:
        """Store another version or other settings of an installed extension (same id)."""
        ...

    async def remove_extension(self, extension_id: str) -> None:
        """Forget the extension and its source, catalog, policies and pins; activity stays."""
        ...
