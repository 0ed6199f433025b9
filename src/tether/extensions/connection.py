"""One run of a local server: its process, its MCP session, and what it lists.

``Connection`` is what the runner keeps per process: the cancel scope that kills it, the
event that says its stdout ended (it exited or crashed), and which lists it said changed.
Spawning, the protocol and JSON-RPC framing stay with the ``mcp`` SDK's stdio transport.
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Literal, TextIO

import anyio
from mcp import Client, StdioServerParameters, stdio_client, types
from mcp.client._transport import TransportStreams
from mcp.client.session import IncomingMessage
from pydantic import ValidationError

from tether.extensions.stderr_log import StderrLog
from tether.sandbox import LaunchSpec
from tether.wire.catalog import (
    ALL_LISTS,
    CLIENT_INFO,
    MAX_PAGES,
    Catalog,
    ListKind,
    keep_listening,
    list_catalog,
)
from tether.wire.peers import PASSED_LOG_LEVEL, SourcePeers
from tether.wire.streams import WatchedReadStream
from tether.wire.subscriptions import ResourceWatch

__all__ = [
    "ALL_LISTS",
    "CLIENT_INFO",
    "MAX_PAGES",
    "Catalog",
    "ConnectMode",
    "Connection",
    "ListKind",
    "keep_listening",
    "list_catalog",
]

ConnectMode = Literal["auto", "legacy"]
"""``auto`` negotiates 2026-07-28 and falls back to the 2025-11-25 handshake; ``legacy`` forces it."""


class Connection:
    """One server process and its session, from spawn to exit."""

    def __init__(
        self,
        log: StderrLog,
        *,
        start_timeout_s: float,
        peers: SourcePeers | None = None,
        watch: ResourceWatch | None = None,
    ) -> None:
        self.scope = anyio.CancelScope(deadline=anyio.current_time() + start_timeout_s)
        """Covers the whole run of the process; its deadline is the start timeout until it is up."""
        self.stdout_closed = anyio.Event()
        self.client: Client | None = None
        """Set once the server answered the handshake and listed its catalog."""
        self.kill_reason: str | None = None
        self.stdout_garbage: str | None = None
        """The first thing the server wrote to stdout that is not JSON-RPC, if any."""
        self._log = log
        self._peers = peers
        self._watch = watch
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
        peers = self._peers
        return Client(
            self._watched(params, errlog),
            mode=mode,
            cache=None,  # the runner keeps its own catalog and re-lists on list_changed
            message_handler=self.on_message,
            client_info=CLIENT_INFO,
            # A call's client answers these through tether (see SourcePeers); nobody else does.
            sampling_callback=peers.sampling if peers else None,
            elicitation_callback=peers.elicitation if peers else None,
            logging_callback=peers.logging if peers else None,
            log_level=PASSED_LOG_LEVEL if peers else None,
        )

    @asynccontextmanager
    async def _watched(
        self, params: StdioServerParameters, errlog: TextIO
    ) -> AsyncGenerator[TransportStreams]:
        async with stdio_client(params, errlog=errlog) as (read_stream, write_stream):
            yield WatchedReadStream(read_stream, self.stdout_closed), write_stream

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
        elif self._watch is not None:
            await self._watch.on_message(message)

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


def _garbage_preview(error: Exception) -> str:
    if isinstance(error, ValidationError):
        for detail in error.errors():
            if "input" in detail:
                return repr(str(detail["input"])[:120])
    return f"{type(error).__name__}: {str(error)[:120]}"
