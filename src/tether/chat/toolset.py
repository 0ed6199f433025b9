"""The tether tools as a pydantic-ai toolset: every call the model makes goes to ``Host.call_tool``.

A call that needs approval is stored by the host and deferred (pydantic-ai's ``ApprovalRequired``);
when the run resumes with that approval id, the host waits for or reads the stored verdict
and only then runs the call. Errors become results the model reads; huge results are cut
for the model with a note, and kept whole in the activity log.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

from pydantic_ai import RunContext
from pydantic_ai.exceptions import ApprovalRequired, ModelRetry, ToolFailed
from pydantic_ai.tools import ToolDefinition
from pydantic_ai.toolsets import AbstractToolset
from pydantic_ai.toolsets.abstract import ToolsetTool
from pydantic_core import SchemaValidator, core_schema

from tether.chat import toolsearch
from tether.core.activity import ActivityEvent
from tether.core.approvals import ApprovalDeferred, Approver
from tether.core.host import Host
from tether.core.tools import split_qualified
from tether.errors import (
    ApprovalDenied,
    ApprovalExpired,
    InvalidArguments,
    SourceError,
    TetherError,
    ToolBlocked,
    UnknownTool,
)
from tether.types import JSON, ActivityRecord, Actor, ApprovalRequest, HostedTool, JSONObject, ToolResult

# The host validates arguments against the tool's own schema (and records a failure), so
# pydantic-ai only checks that they are a JSON object.
_ANY_OBJECT = SchemaValidator(core_schema.dict_schema(core_schema.str_schema(), core_schema.any_schema()))
_MODEL_NAME = re.compile(r"[^a-zA-Z0-9_-]")
MAX_TOOL_NAME = 64
ARGUMENT_RETRIES = 3


@dataclass(frozen=True, slots=True)
class ToolResultKept(ActivityEvent):
    """A result too big to show the model whole, kept here in full (``called_seq`` is its call's row)."""

    kind: ClassVar[str] = "chat.tool_result"
    called_seq: int = 0
    content: tuple[JSONObject, ...] = ()
    structured: JSONObject | None = None


@dataclass
class CallRecord:
    """What happened to one of the model's tool calls, for messages and events."""

    tool: str
    arguments: JSONObject
    status: str = "running"
    result: str = ""
    activity_seq: int | None = None
    approval: ApprovalRequest | None = None
    approval_id: str | None = None

    @property
    def is_done(self) -> bool:
        return self.status not in ("running", "waiting")


@dataclass
class CallLog:
    """Every call of one turn by the model's call id; seeded from storage when a run resumes."""

    records: dict[str, CallRecord] = field(default_factory=dict[str, CallRecord])


class HostToolset(AbstractToolset[None]):
    def __init__(
        self,
        host: Host,
        actor: Actor,
        log: CallLog,
        *,
        sources: Sequence[str] | None = None,
        approvers: Sequence[Approver] = (),
        result_max_chars: int = 20_000,
        search_threshold: int = 40,
    ) -> None:
        self._host = host
        self._actor = actor
        self._log = log
        self._sources = None if sources is None else frozenset(sources)
        self._approvers = list(approvers)
        self._result_max_chars = result_max_chars
        self._search_threshold = search_threshold
        self._by_model_name: dict[str, HostedTool] = {}

    @property
    def id(self) -> str | None:
        return "tether"

    async def visible_tools(self) -> list[HostedTool]:
        """The tools of the conversation's sources."""
        return [t for t in await self._host.tools() if self._sources is None or t.source in self._sources]

    async def get_tools(self, ctx: RunContext[None]) -> dict[str, ToolsetTool[None]]:
        tools = await self.visible_tools()
        self._by_model_name = {model_tool_name(t.qualified_name): t for t in tools}
        if len(tools) > self._search_threshold:
            definitions = [
                ToolDefinition(
                    name=toolsearch.SEARCH_TOOL,
                    description=toolsearch.search_description(tools),
                    parameters_json_schema=toolsearch.SEARCH_SCHEMA,
                ),
                ToolDefinition(
                    name=toolsearch.CALL_TOOL,
                    description=toolsearch.CALL_DESCRIPTION,
                    parameters_json_schema=toolsearch.CALL_SCHEMA,
                ),
            ]
        else:
            definitions = [_definition(name, tool) for name, tool in self._by_model_name.items()]
        return {
            d.name: ToolsetTool(
                toolset=self, tool_def=d, max_retries=ARGUMENT_RETRIES, args_validator=_ANY_OBJECT
            )
            for d in definitions
        }

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[None], tool: ToolsetTool[None]
    ) -> Any:
        if name == toolsearch.SEARCH_TOOL and name not in self._by_model_name:
            limit = tool_args.get("limit", toolsearch.DEFAULT_RESULTS)
            query = str(tool_args.get("query", ""))
            return toolsearch.search(
                list(self._by_model_name.values()), query, limit if isinstance(limit, int) else 8
            )
        if name == toolsearch.CALL_TOOL and name not in self._by_model_name:
            target = self._find(str(tool_args.get("name", "")))
            arguments: object = tool_args.get("arguments") or {}
            if not isinstance(arguments, dict):
                raise ModelRetry("'arguments' must be a JSON object")
            return await self._call(ctx, target, cast(dict[str, JSON], arguments))
        return await self._call(ctx, self._by_model_name[name], tool_args)

    def display_name(self, model_name: str, arguments: Mapping[str, object]) -> str:
        """The tool a call of ``model_name`` is about: the qualified name, or call_tool's target."""
        if model_name == toolsearch.CALL_TOOL and model_name not in self._by_model_name:
            return str(arguments.get("name", model_name))
        tool = self._by_model_name.get(model_name)
        return tool.qualified_name if tool is not None else model_name

    def _find(self, name: str) -> HostedTool:
        for tool in self._by_model_name.values():
            if name in (tool.qualified_name, model_tool_name(tool.qualified_name)):
                return tool
        raise ModelRetry(f"there is no tool named {name!r} here: use {toolsearch.SEARCH_TOOL} to find one")

    async def _call(self, ctx: RunContext[None], tool: HostedTool, arguments: Mapping[str, JSON]) -> str:
        call_id = ctx.tool_call_id or ""
        record = self._log.records.get(call_id)
        if record is not None and record.is_done:
            return record.result  # answered before a restart: never call twice
        if record is None:
            record = self._log.records[call_id] = CallRecord(tool.qualified_name, dict(arguments))
        approval_id = _approval_id(ctx)
        try:
            result = await self._host.call_tool(
                self._actor,
                tool.qualified_name,
                arguments,
                approvers=self._approvers,
                defer_approval=True,
                approval_id=approval_id,
                on_record=lambda stored: _note(record, stored),
            )
        except ApprovalDeferred as signal:
            record.status, record.approval, record.approval_id = "waiting", signal.request, signal.request.id
            raise ApprovalRequired(metadata={"approval_id": signal.request.id}) from None
        except InvalidArguments as error:
            _finish(record, "invalid", str(error))
            raise ModelRetry(f"{error} (fix the arguments to match the tool's input schema)") from None
        except TetherError as error:
            _finish(record, *_refusal(error))
            raise ToolFailed(record.result) from None
        text = result_text(result)
        if len(text) > self._result_max_chars:
            text = await self._cut(record, result, text)
        _finish(record, "tool_error" if result.is_error else "ok", text)
        if result.is_error:
            raise ToolFailed(text)
        return text

    async def _cut(self, record: CallRecord, result: ToolResult, text: str) -> str:
        keep = self._result_max_chars
        source, tool = split_qualified(record.tool) or (None, record.tool)
        kept = ToolResultKept(
            source=source,
            tool=tool,
            called_seq=record.activity_seq or 0,
            content=result.content,
            structured=result.structured,
        )
        stored = await self._host.record(kept, actor=self._actor)
        return (
            f"{text[:keep]}\n\n[tether: this result has {len(text)} characters; only the first {keep} are "
            f"shown. The whole result is kept in tether's activity log, row {stored.seq}.]"
        )


def model_tool_name(qualified_name: str) -> str:
    """A name every provider accepts (letters, digits, '_', '-'; at most 64), stable across runs."""
    name = _MODEL_NAME.sub("_", qualified_name)
    if name == qualified_name and len(name) <= MAX_TOOL_NAME:
        return name
    digest = hashlib.sha256(qualified_name.encode()).hexdigest()[:8]
    return f"{name[: MAX_TOOL_NAME - 9]}_{digest}"


def result_text(result: ToolResult) -> str:
    """The result as the model reads it: text blocks as they are, other blocks named, else the JSON."""
    parts: list[str] = []
    for block in result.content:
        kind = block.get("type")
        if kind == "text":
            parts.append(str(block.get("text", "")))
        elif kind == "resource":
            resource = cast(Mapping[str, object], block.get("resource") or {})
            text = resource.get("text")
            parts.append(str(text) if text is not None else f"[resource {resource.get('uri', '')}]")
        else:
            parts.append(f"[{kind} content: {block.get('mimeType', 'unknown type')}]")
    if not any(parts) and result.structured is not None:
        return json.dumps(result.structured, ensure_ascii=False)
    return "\n".join(parts)


def _definition(name: str, tool: HostedTool) -> ToolDefinition:
    schema = dict(tool.definition.input_schema)
    schema.setdefault("type", "object")
    if schema.get("type") == "object":
        schema.setdefault("properties", {})
    notes = [n for n, on in (("read-only", tool.definition.annotations.read_only),) if on]
    description = tool.definition.description + (f" ({', '.join(notes)})" if notes else "")
    return ToolDefinition(name=name, description=description, parameters_json_schema=schema, strict=False)


def _approval_id(ctx: RunContext[None]) -> str | None:
    metadata: object = ctx.tool_call_metadata
    if ctx.tool_call_approved and isinstance(metadata, dict):
        value = cast(dict[str, object], metadata).get("approval_id")
        return value if isinstance(value, str) else None
    return None


def _note(record: CallRecord, stored: ActivityRecord) -> None:
    if stored.kind == "tool.called":
        record.activity_seq = stored.seq


def _finish(record: CallRecord, status: str, result: str) -> None:
    record.status, record.result = status, result


def _refusal(error: TetherError) -> tuple[str, str]:
    """(status, what the model reads) for a call that did not run."""
    if isinstance(error, ApprovalDenied):
        return "refused", (
            "The user denied this call, so it did not run. Do not retry it; tell the user what you "
            "could not do, or ask how to go on."
        )
    if isinstance(error, ApprovalExpired):
        return (
            "refused",
            "Nobody approved this call in time, so it did not run. Ask the user before retrying.",
        )
    if isinstance(error, ToolBlocked):
        return "refused", f"The user's permissions block this tool, so it did not run ({error})."
    if isinstance(error, UnknownTool):
        return "unknown", f"No such tool: {error}"
    if isinstance(error, SourceError):
        return "failed", f"The tool's source failed, so the call did not complete: {error}"
    return "failed", f"The call failed ({error.code}): {error}"
