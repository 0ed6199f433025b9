"""One run of a local server: its process, its MCP session, and what it lists.

``Connection`` is what the runner keeps per process: the cancel scope that kills it, the
event that says its stdout ended (it exited or crashed), and which lists it said changed.
Spawning, the protocol and JSON-RPC framing stay with the ``mcp`` SDK's stdio transport.
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from importlib import metadata
from types import TracebackType
from typing import Literal, TextIO, TypeVar

import anyio
from mcp import Client, MCPError, StdioServerParameters, stdio_client, types
from mcp.client._transport import ReadStream, TransportStreams
from mcp.client.session import IncomingMessage
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from tether.extensions.convert import to_prompt_def, to_resource_def, to_tool_def
from tether.extensions.stderr_log import StderrLog
from tether.sandbox import LaunchSpec
from tether.types import PromptDef, ResourceDef, ToolDef

ConnectMode = Literal["auto", "legacy"]
"""``auto`` negotiates 2026-07-28 and falls back to the 2025-11-25 handshake; ``legacy`` forces it."""
ListKind = Literal["tools", "prompts", "resources"]
ALL_LISTS: frozenset[ListKind] = frozenset({"tools", "prompts", "resources"})
MAX_PAGES = 100
"""A server whose pagination never ends cannot hang a listing."""


def _tether_version() -> str:
    try:
        return metadata.version("tether")
    except metadata.PackageNotFoundError:
        return "0"


CLIENT_INFO = types.Implementation(name="tether", version=_tether_version())

_T = TypeVar("_T")
_U = TypeVar("_U")


@dataclass(frozen=True, slots=True)
class Catalog:
    """What a server offers, in tether's types."""

    tools: tuple[ToolDef, ...] = ()
    prompts: tuple[PromptDef, ...] = ()
    resources: tuple[ResourceDef, ...] = ()


class _WatchedStdout:
    """The server's stdout as the session reads it; sets ``closed`` when it ends."""

    def __init__(self, inner: ReadStream[SessionMessage | Exception], closed: anyio.Event) -> None:
        self._inner = inner
        self._closed = closed

    async def receive(self) -> SessionMessage | Exception:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            self._closed.set()
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> _WatchedStdout:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _WatchedStdout:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool | None:
        await self.aclose()
        return None


class Connection:
    """One server process and its session, from spawn to exit."""

    def __init__(self, log: StderrLog, *, start_timeout_s: float) -> None:
        self.scope = anyio.CancelScope(deadline=anyio.current_time() + start_timeout_s)
        """Covers the whole run of the process; its deadline is the start timeout until it is up."""
        self.stdout_closed = anyio.Event()
        self.client: Client | None = None
        """Set once the server answered the handshake and listed its catalog."""
        self.kill_reason: str | None = None
        self.stdout_garbage: str | None = None
        """The first thing the server wrote to stdout that is not JSON-RPC, if any."""
        self._log = log
        self._stale: set[ListKind] = set()
        self._stale_changed = anyio.Event()

    def open_client(self, spec: LaunchSpec, errlog: TextIO, *, mode: ConnectMode) -> Client:
        """A client that, once entered, has started ``spec`` and finished the MCP handshake."""
        params = StdioServerParameters(
            command=spec.command,
            args=list(spec.args),
            env=dict(spec.env),
            cwd=spec.cwd,
            encoding_error_handler="replace",  # undecodable bytes must not end the session
        )
        return Client(
            self._watched(params, errlog),
            mode=mode,
            cache=None,  # the runner keeps its own catalog and re-lists on list_changed
            message_handler=self.on_message,
            client_info=CLIENT_INFO,
        )

    @asynccontextmanager
    async def _watched(
        self, params: StdioServerParameters, errlog: TextIO
    ) -> AsyncGenerator[TransportStreams]:
        async with stdio_client(params, errlog=errlog) as (read_stream, write_stream):
            yield _WatchedStdout(read_stream, self.stdout_closed), write_stream

    def mark_running(self, client: Client) -> None:
        self.client = client
        self.scope.deadline = math.inf

    def kill(self, reason: str) -> None:
        """Stop the process (used when a call hangs); the supervisor starts a new one."""
        if self.kill_reason is None:
            self.kill_reason = reason
        self.scope.cancel()

    async def on_message(self, message: IncomingMessage) -> None:
        """The session's message handler: notes list changes and stdout garbage, never raises."""
        if isinstance(message, Exception):
            preview = _garbage_preview(message)
            if self.stdout_garbage is None:
                self.stdout_garbage = preview
            self._log.note(f"ignored output on stdout that is not JSON-RPC: {preview}")
        elif isinstance(message, types.ToolListChangedNotification):
            self._mark_stale("tools")
        elif isinstance(message, types.PromptListChangedNotification):
            self._mark_stale("prompts")
        elif isinstance(message, types.ResourceListChangedNotification):
            self._mark_stale("resources")

    async def wait_stale(self) -> frozenset[ListKind]:
        """Wait until the server says some of its lists changed; return which."""
        while not self._stale:
            await self._stale_changed.wait()
            self._stale_changed = anyio.Event()
        stale = frozenset(self._stale)
        self._stale.clear()
        return stale

    def _mark_stale(self, kind: ListKind) -> None:
        self._stale.add(kind)
        self._stale_changed.set()


async def list_catalog(client: Client, kinds: frozenset[ListKind], previous: Catalog) -> Catalog:
    """List ``kinds`` again (those the server has the capability for); keep the rest of ``previous``."""
    capabilities = client.server_capabilities
    catalog = previous
    if "tools" in kinds:
        tools: list[types.Tool] = []
        if capabilities.tools is not None:
            tools = await _all_pages(client.list_tools, lambda page: (page.tools, page.next_cursor))
        catalog = replace(catalog, tools=tuple(to_tool_def(tool) for tool in tools))
    if "prompts" in kinds:
        prompts: list[types.Prompt] = []
        if capabilities.prompts is not None:
            prompts = await _all_pages(client.list_prompts, lambda page: (page.prompts, page.next_cursor))
        catalog = replace(catalog, prompts=tuple(to_prompt_def(prompt) for prompt in prompts))
    if "resources" in kinds:
        resources: list[types.Resource] = []
        if capabilities.resources is not None:
            resources = await _all_pages(
                client.list_resources, lambda page: (page.resources, page.next_cursor)
            )
        catalog = replace(catalog, resources=tuple(to_resource_def(resource) for resource in resources))
    return catalog


async def keep_listening(client: Client) -> None:
    """Hold a ``subscriptions/listen`` stream open (2026-07-28): change events only flow through one.

    The session's message handler sees each event too, so this only keeps the stream open.
    A server that cannot listen just does not tell us about changes.
    """
    capabilities = client.server_capabilities
    tools = bool(capabilities.tools and capabilities.tools.list_changed)
    prompts = bool(capabilities.prompts and capabilities.prompts.list_changed)
    resources = bool(capabilities.resources and capabilities.resources.list_changed)
    if not (tools or prompts or resources):
        return
    try:
        async with client.listen(
            tools_list_changed=tools, prompts_list_changed=prompts, resources_list_changed=resources
        ) as subscription:
            async for _event in subscription:
                pass
    except Exception:  # a missing change feed is not worth stopping the server for
        return


async def _all_pages(
    fetch: Callable[..., Awaitable[_T]], unpack: Callable[[_T], tuple[list[_U], str | None]]
) -> list[_U]:
    found: list[_U] = []
    cursor: str | None = None
    try:
        for _ in range(MAX_PAGES):
            items, cursor = unpack(await fetch(cursor=cursor))
            found.extend(items)
            if cursor is None:
                break
    except MCPError as error:
        if error.code != types.METHOD_NOT_FOUND:
            raise
        return []  # it declared the capability but does not serve the list: nothing to offer
    return found


def _garbage_preview(error: Exception) -> str:
    if isinstance(error, ValidationError):
        for detail in error.errors():
            if "input" in detail:
                return repr(str(detail["input"])[:120])
    return f"{type(error).__name__}: {str(error)[:120]}"
