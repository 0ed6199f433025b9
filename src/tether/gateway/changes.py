"""Telling clients their lists changed: ``list_changed`` when sources, catalogs or policies change.

2025-11-25 clients hear a notification on their connection (captured when they finish the
handshake); 2026-07-28 clients hear it on a ``subscriptions/listen`` stream. What changed is
found by comparing what each list would show now with what it showed at the last notice,
checked on every host event that may change one and once a second (a source started by
``reconcile`` says nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    ListenHandler,
    PromptsListChanged,
    ResourcesListChanged,
    ToolsListChanged,
)
from mcp.types.version import MODERN_PROTOCOL_VERSIONS

from tether.core.events import ApprovalPending
from tether.core.host import Host
from tether.core.tools import TemplateLister

logger = logging.getLogger(__name__)

CHECK_EVERY_S = 1.0
MAX_LEGACY_CLIENTS = 1024
NOTIFY_TIMEOUT_S = 2.0
_POLICY_KINDS = ("policy.", "tools.")
_LIST_NEUTRAL_KINDS = frozenset(
    {"tool.called", "source.asked", "approval.resolved", "token.created", "token.revoked"}
)


class ListChanges:
    """Runs for as long as the gateway serves; ``capture`` is a server middleware."""

    def __init__(self, host: Host, *, check_every_s: float = CHECK_EVERY_S) -> None:
        self._host = host
        self._check_every_s = check_every_s
        self.bus = InMemorySubscriptionBus()
        self.listen = ListenHandler(self.bus)
        self._sessions: list[ServerSession] = []
        self._policy_generation = 0

    async def capture(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """Remember each 2025-11-25 connection once its handshake is done, to notify it later."""
        result = await call_next(ctx)
        if ctx.method == "notifications/initialized" and ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            self._sessions = [*self._sessions[-(MAX_LEGACY_CLIENTS - 1) :], ctx.session]
        return result

    async def run(self) -> None:
        with self._host.events.subscribe() as events:
            shown = await self._snapshot()
            check_at = anyio.current_time() + self._check_every_s
            while True:
                with anyio.move_on_after(check_at - anyio.current_time()):
                    event = await events.receive()
                    if isinstance(event, ApprovalPending) or event.kind in _LIST_NEUTRAL_KINDS:
                        continue  # the per-call events change no list: no snapshot per call
                    if event.kind.startswith(_POLICY_KINDS):
                        self._policy_generation += 1
                check_at = anyio.current_time() + self._check_every_s
                now = await self._snapshot()
                changed = [
                    kind
                    for kind, (was, is_) in enumerate(zip(shown, now, strict=True))
                    if not _same(was, is_)
                ]
                if changed:
                    shown = now
                    await self.notify(tools=0 in changed, prompts=1 in changed, resources=2 in changed)

    async def notify(self, *, tools: bool = True, prompts: bool = True, resources: bool = True) -> None:
        if tools:
            await self.bus.publish(ToolsListChanged())
        if prompts:
            await self.bus.publish(PromptsListChanged())
        if resources:
            await self.bus.publish(ResourcesListChanged())
        for session in list(self._sessions):
            try:
                with anyio.fail_after(NOTIFY_TIMEOUT_S):
                    if tools:
                        await session.send_tool_list_changed()
                    if prompts:
                        await session.send_prompt_list_changed()
                    if resources:
                        await session.send_resource_list_changed()
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, TimeoutError):
                self._sessions.remove(session)  # the client is gone

    async def _snapshot(self) -> tuple[Sequence[object], Sequence[object], Sequence[object]]:
        sources = self._host.sources()
        tools: list[object] = [self._policy_generation]
        prompts: list[object] = []
        resources: list[object] = []
        for source in sources:
            tools.append((source.name, await source.list_tools()))
            prompts.append((source.name, await source.list_prompts()))
            resources.append((source.name, await source.list_resources()))
            if isinstance(source, TemplateLister):
                resources.append((source.name, await source.list_resource_templates()))
        return tools, prompts, resources


def _same(was: Sequence[object], now: Sequence[object]) -> bool:
    return len(was) == len(now) and all(a is b or a == b for a, b in zip(was, now, strict=True))
