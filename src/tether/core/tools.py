"""What a source is (the ToolSource protocol) and how its tools are named in the host.

A tool is exposed as ``<source>__<tool>`` so two sources can never clash and a tool keeps
its name when other sources come and go. This module must not start or talk to anything.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import Protocol, runtime_checkable

from anyio.abc import TaskStatus

from tether.errors import InvalidName
from tether.types import (
    JSON,
    JSONObject,
    PromptDef,
    ResourceDef,
    ResourceTemplateDef,
    SourceStatus,
    ToolDef,
    ToolResult,
)

SEPARATOR = "__"
_SOURCE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]|_(?!_)){0,47}$")


class ToolSource(Protocol):
    """Something that lists and calls tools: a local extension or a remote connector.

    ``run`` is started by the host in its task group and keeps the source alive
    (connecting, restarting, following ``list_changed``) until ``close`` is called.
    It reports ``task_status.started()`` once the first connection attempt is over,
    whether it succeeded or not; ``status`` then says which.
    """

    @property
    def name(self) -> str: ...

    @property
    def status(self) -> SourceStatus: ...

    async def run(self, *, task_status: TaskStatus[None]) -> None: ...

    async def list_tools(self) -> Sequence[ToolDef]: ...

    async def list_prompts(self) -> Sequence[PromptDef]: ...

    async def list_resources(self) -> Sequence[ResourceDef]: ...

    async def call_tool(self, name: str, arguments: Mapping[str, JSON]) -> ToolResult: ...

    async def close(self) -> None: ...


class ProgressFn(Protocol):
    """Told how far a running call got: ``progress`` of ``total`` (when known), with a note."""

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None: ...


call_progress: ContextVar[ProgressFn | None] = ContextVar("tether_call_progress", default=None)
"""Set by whoever waits on ``Host.call_tool`` (the gateway) to hear the call's progress; a source
that can report progress reads it in ``call_tool`` and passes its server's notifications on."""


class CallPeer(Protocol):
    """The client waiting on a call, as the source running it may reach it (the gateway's client).

    A source's server may, while it handles the call, ask that client to sample its model
    (``sampling/createMessage``), ask its user (``elicitation/create``), or log to it. ``source``
    names the asking source so the peer can label what the user sees. Params and results are
    MCP wire JSON. A peer that cannot pass a request on raises an error saying why.
    """

    async def create_message(self, source: str, params: JSONObject) -> JSONObject: ...

    async def elicit(self, source: str, params: JSONObject) -> JSONObject: ...

    async def log(self, source: str, level: str, logger: str | None, data: JSON) -> None: ...


call_peer: ContextVar[CallPeer | None] = ContextVar("tether_call_peer", default=None)
"""Set by whoever waits on ``Host.call_tool`` and can answer for a client (the gateway); a source
reads it when a call starts, so its server's requests during that call reach that client only."""


@runtime_checkable
class ContentReader(Protocol):
    """What a source may offer besides tools: render one of its prompts, read one of its resources.

    Results are the MCP results as JSON (``GetPromptResult``, ``ReadResourceResult``), so they
    pass through tether unchanged. Optional: a source without it lists prompts and resources only.
    """

    async def get_prompt(self, name: str, arguments: Mapping[str, str]) -> JSONObject: ...

    async def read_resource(self, uri: str) -> JSONObject: ...


@runtime_checkable
class TemplateLister(Protocol):
    """A source that lists resource templates (URI templates of the resources it can read)."""

    async def list_resource_templates(self) -> Sequence[ResourceTemplateDef]: ...


@runtime_checkable
class ResourceWatcher(Protocol):
    """A source that can tell when one of its resources changed (``resources/subscribe``).

    ``on_updated`` is called with the URI, as the source names it, each time the server says
    it changed, until it is unsubscribed; both raise a SourceError the caller can show.
    """

    async def subscribe_resource(self, uri: str, on_updated: Callable[[str], Awaitable[None]]) -> None: ...

    async def unsubscribe_resource(self, uri: str, on_updated: Callable[[str], Awaitable[None]]) -> None: ...


def check_source_name(name: str) -> str:
    """Return ``name`` if it can name a source, else raise InvalidName saying what is allowed."""
    if not _SOURCE_NAME.match(name):
        raise InvalidName(
            f"'{name}' cannot name a source: use 1 to 48 lowercase letters, digits, '-' or '_' "
            f"(no '{SEPARATOR}'), starting with a letter or digit"
        )
    return name


def qualify(source: str, tool: str) -> str:
    return f"{source}{SEPARATOR}{tool}"


def split_qualified(name: str) -> tuple[str, str] | None:
    """``'files__read'`` -> ``('files', 'read')``; None when the name has no source prefix."""
    source, sep, tool = name.partition(SEPARATOR)
    if not sep or not source or not tool:
        return None
    return source, tool
