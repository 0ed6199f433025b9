"""The host: owns every source and is the one call path for every tool call.

    resolve -> validate -> decide -> ask -> call -> record -> result

The chat, the gateway, the CLI and the web UI all call ``Host.call_tool``; nothing else
calls a source's tool. The host does no I/O of its own: sources and the store do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from types import TracebackType
from typing import Self, cast

import anyio
import anyio.abc
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for  # pyright: ignore[reportUnknownVariableType]

from tether.core import policy
from tether.core.activity import (
    ActivityEvent,
    ApprovalResolved,
    PolicyChanged,
    RuleToggled,
    ToolCalled,
    ToolReviewed,
    ToolsChanged,
    arguments_for_log,
)
from tether.core.approvals import ApprovalDeferred, Approver, await_verdict
from tether.core.events import ApprovalPending, EventHub
from tether.core.pinning import definition_diff, definition_hash
from tether.core.storage import Store
from tether.core.tools import ToolSource, qualify, split_qualified
from tether.errors import (
    ApprovalDenied,
    ApprovalExpired,
    Conflict,
    InvalidArguments,
    SourceError,
    TetherError,
    ToolBlocked,
    UnknownSource,
    UnknownTool,
    UsageError,
)
from tether.types import (
    JSON,
    ActivityRecord,
    Actor,
    ApprovalRequest,
    Decision,
    Effect,
    HostedTool,
    SourceState,
    SourceStatus,
    ToolDef,
    ToolResult,
    Verdict,
)

DEFAULT_APPROVAL_TIMEOUT_S = 300.0


class Host:
    """Use as ``async with Host(store) as host:``; sources live in the host's task group."""

    def __init__(
        self,
        store: Store,
        *,
        approvers: Sequence[Approver] = (),
        approval_timeout_s: float = DEFAULT_APPROVAL_TIMEOUT_S,
        skip_approvals: Mapping[str, bool] | None = None,
    ) -> None:
        self.store = store
        self.approvers: list[Approver] = list(approvers)
        self.approval_timeout_s = approval_timeout_s
        self._skip_approvals = dict(skip_approvals or {})
        self._grants: dict[str, list[str]] = {}
        self.events = EventHub()
        self._sources: dict[str, ToolSource] = {}
        self._validators: dict[str, tuple[ToolDef, Validator]] = {}
        self._exit_stack = AsyncExitStack()
        self._task_group: anyio.abc.TaskGroup | None = None

    async def __aenter__(self) -> Self:
        self._task_group = await self._exit_stack.enter_async_context(anyio.create_task_group())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with anyio.CancelScope(shield=True):
            async with anyio.create_task_group() as closing:
                for source in list(self._sources.values()):
                    closing.start_soon(source.close)
        self._sources.clear()
        try:
            await self._exit_stack.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            # Source runners never raise, so a group holds what the body raised: give it back as is.
            if exc is not None and len(group.exceptions) == 1 and group.exceptions[0] is exc:
                raise exc from None
            raise

    # -- sources -----------------------------------------------------------------------

    async def add_source(self, source: ToolSource, *, skip_approvals: bool = False) -> None:
        """Start ``source`` in the host's task group; returns after its first connection attempt."""
        if self._task_group is None:
            raise RuntimeError("Host is not running: use 'async with Host(...)'")
        self._sources[source.name] = source
        self._skip_approvals[source.name] = skip_approvals
        await self._task_group.start(_run_source, source)
        await self.sync_catalog(source.name)

    async def add_sources(self, sources: Sequence[tuple[ToolSource, bool]]) -> None:
        """Start several sources at once; each gets its own connection attempt in parallel."""
        async with anyio.create_task_group() as tg:
            for source, skips in sources:
                tg.start_soon(lambda s=source, k=skips: self.add_source(s, skip_approvals=k))

    def set_skip_approvals(self, source: str, *, skips: bool) -> None:
        self._skip_approvals[source] = skips

    def set_grants(self, source: str, directories: Sequence[str] | None) -> None:
        """The directories a source was granted (an extension's directory settings), for path rules."""
        if directories is None:
            self._grants.pop(source, None)
        else:
            self._grants[source] = list(directories)

    async def remove_source(self, name: str) -> None:
        source = self._sources.pop(name, None)
        if source is None:
            raise UnknownSource(f"no running source named '{name}'")
        await source.close()

    def source(self, name: str) -> ToolSource:
        try:
            return self._sources[name]
        except KeyError:
            raise UnknownSource(f"no source named '{name}' is running: see `tether source list`") from None

    def sources(self) -> list[ToolSource]:
        return list(self._sources.values())

    def statuses(self) -> dict[str, SourceStatus]:
        return {name: source.status for name, source in self._sources.items()}

    async def sync_catalog(self, source_name: str) -> None:
        """Store the tools ``source_name`` lists now and record what changed since last time."""
        source = self.source(source_name)
        current = {tool.name: tool for tool in await source.list_tools()}
        if not current and source.status.state is not SourceState.RUNNING:
            return  # a source that did not start has told us nothing new
        known = {tool.name: tool for tool in await self.store.known_tools(source_name)}
        if current == known:
            return
        await self.store.save_tools(source_name, list(current.values()))
        await self.record(
            ToolsChanged(
                source=source_name,
                added=tuple(sorted(current.keys() - known.keys())),
                removed=tuple(sorted(known.keys() - current.keys())),
                changed=tuple(sorted(n for n in current.keys() & known.keys() if current[n] != known[n])),
            ),
            actor=Actor("source", source_name),
        )

    # -- tools -------------------------------------------------------------------------

    async def tools(self, *, source: str | None = None) -> list[HostedTool]:
        names = [source] if source is not None else sorted(self._sources)
        found: list[HostedTool] = []
        for name in names:
            for tool in await self.source(name).list_tools():
                found.append(HostedTool(qualify(name, tool.name), name, tool))
        return found

    async def resolve(self, name: str) -> HostedTool:
        """Find a tool by qualified name (``files__read``), or by bare name when only one source has it."""
        parts = split_qualified(name)
        if parts is not None and parts[0] in self._sources:
            source_name, tool_name = parts
            for tool in await self._sources[source_name].list_tools():
                if tool.name == tool_name:
                    return HostedTool(name, source_name, tool)
            raise UnknownTool(
                f"source '{source_name}' has no tool '{tool_name}': see `tether tools --source {source_name}`"
            )
        matches = [t for t in await self.tools() if t.name == name]
        if len(matches) == 1:
            return matches[0]
        if matches:
            options = ", ".join(t.qualified_name for t in matches)
            raise UnknownTool(f"'{name}' is ambiguous: use one of {options}")
        raise UnknownTool(f"no tool named '{name}': see `tether tools`")

    async def decide(self, tool: HostedTool, arguments: Mapping[str, JSON] | None = None) -> Decision:
        return policy.decide(
            tool,
            stored=await self.store.get_policy(tool.source, tool.name),
            source_skips_approvals=self._skip_approvals.get(tool.source, False),
            rules=await self.rules(),
            arguments=arguments,
            grants=self._grants.get(tool.source),
        )

    async def rules(self) -> list[str]:
        """The optional policy rules that are turned on (see ``policy.RULES``)."""
        stored: object = await self.store.get_setting(policy.RULES_SETTING)
        return [str(name) for name in cast(list[object], stored)] if isinstance(stored, list) else []

    async def set_rule(self, actor: Actor, name: str, *, is_on: bool) -> None:
        if name not in policy.RULES:
            raise UsageError(f"no rule named '{name}': the rules are {', '.join(policy.RULES)}")
        current = await self.rules()
        if (name in current) == is_on:
            return
        updated = sorted({*current, name} if is_on else set(current) - {name})
        await self.store.set_setting(policy.RULES_SETTING, updated)
        await self.record(RuleToggled(rule=name, is_on=is_on), actor=actor)

    async def set_policy(self, actor: Actor, tool: HostedTool, effect: Effect) -> None:
        """Set a tool's permission; allowing it also pins the definition being allowed."""
        previous = await self.store.set_effect(tool.source, tool.name, effect)
        if effect is Effect.ALLOW:
            await self.pin(actor, tool)
        if previous is not effect:
            await self.record(
                PolicyChanged(
                    source=tool.source,
                    tool=tool.name,
                    effect=effect.value,
                    previous=previous.value if previous else None,
                ),
                actor=actor,
            )

    async def pin(self, actor: Actor, tool: HostedTool) -> None:
        """Remember the tool's current definition as the one a person approved."""
        digest = definition_hash(tool.definition)
        stored = await self.store.get_policy(tool.source, tool.name)
        if stored.pinned_hash == digest:
            return
        await self.store.set_pin(tool.source, tool.name, tool.definition, digest)
        if stored.pinned_hash is not None:
            await self.record(
                ToolReviewed(
                    source=tool.source,
                    tool=tool.name,
                    previous_hash=stored.pinned_hash,
                    definition_hash=digest,
                ),
                actor=actor,
            )

    async def definition_diff(self, tool: HostedTool) -> str | None:
        """How the tool changed since it was approved; None when it was never pinned."""
        stored = await self.store.get_policy(tool.source, tool.name)
        if stored.pinned is None:
            return None
        return definition_diff(stored.pinned, tool.definition)

    # -- the call path -----------------------------------------------------------------

    async def call_tool(
        self,
        actor: Actor,
        name: str,
        arguments: Mapping[str, JSON],
        *,
        approvers: Sequence[Approver] = (),
        defer_approval: bool = False,
        approval_id: str | None = None,
        on_record: Callable[[ActivityRecord], None] | None = None,
    ) -> ToolResult:
        """Run one tool call through policy, approval and the activity log.

        ``approvers`` join the host's own for this call only (e.g. the gateway asking its client).
        With ``defer_approval``, a call that needs an approval stores it and raises
        ``ApprovalDeferred`` instead of waiting; calling again with its ``approval_id`` waits for
        that stored approval's verdict (or uses the one given meanwhile) and then runs the call.
        ``on_record`` is handed every activity record this call writes (the chat links them).
        """

        async def record(event: ActivityEvent) -> None:
            stored = await self.record(event, actor=actor)
            if on_record is not None:
                on_record(stored)

        tool = await self.resolve(name)
        decision = await self.decide(tool, arguments)
        event = ToolCalled(
            source=tool.source,
            tool=tool.name,
            arguments=arguments_for_log(arguments),
            effect=decision.effect.value,
            reason=decision.reason,
            rule=decision.rule,
        )
        try:
            self._validate(tool, arguments)
        except InvalidArguments as error:
            await record(_replace(event, outcome="invalid", error=str(error)))
            raise

        if approval_id is not None and decision.effect is not Effect.ASK:
            # The policy changed while the call waited: it decides now, and the approval is moot.
            await self.store.resolve_approval(approval_id, Verdict.EXPIRED, "policy")

        if decision.effect is Effect.BLOCK:
            await record(_replace(event, outcome="refused", error=decision.reason))
            raise ToolBlocked(
                f"{decision.reason}: change it with `tether policy set {tool.qualified_name} ask`"
            )

        verdict: Verdict | None = None
        if decision.effect is Effect.ASK:
            if defer_approval and approval_id is None:
                raise ApprovalDeferred(await self._defer(actor, tool, arguments, decision))
            verdict = await self._ask(actor, tool, arguments, decision, approvers, approval_id, record)
            event = _replace(event, verdict=verdict.value)
            if verdict in (Verdict.DENIED, Verdict.EXPIRED):
                await record(_replace(event, outcome="refused", error=verdict.value))
                if verdict is Verdict.DENIED:
                    raise ApprovalDenied(f"the call to '{tool.qualified_name}' was denied")
                raise ApprovalExpired(
                    f"nobody approved the call to '{tool.qualified_name}' within "
                    f"{self.approval_timeout_s:g} s: approve it with `tether approvals` and call again"
                )

        started = time.perf_counter()
        try:
            result = await self.source(tool.source).call_tool(tool.name, arguments)
        except TetherError as error:
            await record(
                _replace(
                    event, outcome="failed", error=f"{error.code}: {error}", duration_ms=_ms_since(started)
                )
            )
            raise
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await record(_replace(event, outcome="cancelled", duration_ms=_ms_since(started)))
            raise
        await record(
            _replace(
                event,
                outcome="tool_error" if result.is_error else "ok",
                error=result.text[:500] if result.is_error else None,
                duration_ms=_ms_since(started),
                result_bytes=_result_size(result),
            )
        )
        return result

    async def _defer(
        self, actor: Actor, tool: HostedTool, arguments: Mapping[str, JSON], decision: Decision
    ) -> ApprovalRequest:
        request = _new_request(actor, tool, arguments, decision)
        await self.store.create_approval(request)
        self.events.publish(ApprovalPending(request))
        return request

    async def _ask(
        self,
        actor: Actor,
        tool: HostedTool,
        arguments: Mapping[str, JSON],
        decision: Decision,
        approvers: Sequence[Approver],
        approval_id: str | None,
        record: Callable[[ActivityEvent], Awaitable[None]],
    ) -> Verdict:
        if approval_id is None:
            request, decided = _new_request(actor, tool, arguments, decision), None
        else:
            request, decided = await self._stored_request(approval_id, actor, tool, arguments)
        if decided is None:
            decided = await await_verdict(
                self.store,
                request,
                [*self.approvers, *approvers],
                timeout_s=self.approval_timeout_s,
                on_pending=lambda: self.events.publish(ApprovalPending(request)),
                is_stored=approval_id is not None,
            )
        verdict, decided_by = decided
        await record(
            ApprovalResolved(
                source=tool.source,
                tool=tool.name,
                approval_id=request.id,
                verdict=verdict.value,
                decided_by=decided_by,
            )
        )
        if verdict is Verdict.ALWAYS_ALLOWED:
            await self.set_policy(Actor("approval", decided_by), tool, Effect.ALLOW)
        elif verdict is Verdict.APPROVED_ONCE:
            await self.pin(Actor("approval", decided_by), tool)
        return verdict

    async def _stored_request(
        self, approval_id: str, actor: Actor, tool: HostedTool, arguments: Mapping[str, JSON]
    ) -> tuple[ApprovalRequest, tuple[Verdict, str] | None]:
        """The stored approval for exactly this call, and its verdict when it has one already."""
        stored = await self.store.get_approval(approval_id)
        request = stored.request
        if (
            request.tool.qualified_name != tool.qualified_name
            or request.actor != actor
            or dict(request.arguments) != dict(arguments)
        ):
            raise Conflict(f"approval {approval_id} was asked for another call than this one")
        if stored.verdict is None:
            return request, None
        return request, (stored.verdict, stored.decided_by or "unknown")

    def _validate(self, tool: HostedTool, arguments: Mapping[str, JSON]) -> None:
        cached = self._validators.get(tool.qualified_name)
        if cached is None or cached[0] is not tool.definition:
            schema = dict(tool.definition.input_schema)
            try:
                cls: type[Validator] = validator_for(schema, default=Draft202012Validator)
                cls.check_schema(schema)
                cached = (tool.definition, cls(schema))
            except SchemaError:
                # A server with a broken schema still gets its call; the server validates too.
                cached = (tool.definition, Draft202012Validator({}))
            self._validators[tool.qualified_name] = cached
        errors = sorted(cached[1].iter_errors(dict(arguments)), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.absolute_path) or "arguments"
            raise InvalidArguments(
                f"'{tool.qualified_name}' rejected its arguments: {where}: {first.message}"
            )

    async def record(self, event: ActivityEvent, *, actor: Actor) -> ActivityRecord:
        stored = await self.store.append(event, actor=str(actor))
        self.events.publish(stored)
        return stored


async def _run_source(source: ToolSource, *, task_status: anyio.abc.TaskStatus[None]) -> None:
    # A source that gives up reports it through its status; the host keeps serving the others.
    with contextlib.suppress(SourceError):
        await source.run(task_status=task_status)


def _new_request(
    actor: Actor, tool: HostedTool, arguments: Mapping[str, JSON], decision: Decision
) -> ApprovalRequest:
    return ApprovalRequest(
        id=uuid.uuid4().hex[:12],
        tool=tool,
        arguments=dict(arguments),
        actor=actor,
        requested_at=datetime.now(UTC),
        decision=decision,
    )


def _replace(event: ToolCalled, **changes: object) -> ToolCalled:
    return dataclasses.replace(event, **changes)  # pyright: ignore[reportArgumentType]


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _result_size(result: ToolResult) -> int:
    return len(json.dumps([dict(b) for b in result.content], default=str)) + (
        len(json.dumps(result.structured, default=str)) if result.structured is not None else 0
    )
