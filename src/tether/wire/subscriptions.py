"""Resource subscriptions of one source: which URIs someone watches, kept on every session.

``ResourceWatch`` remembers the watched URIs and who to tell, asks the connected server to
send ``notifications/resources/updated`` for them (``resources/subscribe`` on 2025-11-25, a
``subscriptions/listen`` stream on 2026-07-28), asks again after every reconnect, and hands
each update to the watchers. It opens no connection: the source gives it its ``Client``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import anyio
import anyio.abc
from mcp import Client, MCPError, types
from mcp.client.session import IncomingMessage
from mcp.types.version import MODERN_PROTOCOL_VERSIONS

from tether.errors import SourceError, SourceUnavailable

__all__ = ["OnUpdated", "ResourceWatch"]

logger = logging.getLogger(__name__)

LISTEN_WAIT_S = 10.0
"""How long subscribing waits for a 2026-07-28 server to acknowledge the new listen stream, and
for a 2025-11-25 server to answer ``resources/subscribe`` or ``resources/unsubscribe``."""

OnUpdated = Callable[[str], Awaitable[None]]
"""Told the URI (as the source names it) of a watched resource that changed."""


class ResourceWatch:
    """One per source, kept across its sessions; ``keep`` runs once per connected session."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._watchers: dict[str, list[OnUpdated]] = {}
        self._changed = anyio.Event()
        self._listening: frozenset[str] = frozenset()
        self._listened = anyio.Event()
        self._listen_error: str | None = None

    @staticmethod
    def can_subscribe(client: Client | None) -> bool:
        """Whether the connected server offers resource subscriptions."""
        if client is None:
            return False
        resources = client.server_capabilities.resources
        return bool(resources and resources.subscribe)

    async def add(self, client: Client | None, uri: str, on_updated: OnUpdated) -> None:
        """Watch ``uri``; raises SourceError when the server cannot or will not send its updates."""
        if client is None:
            raise SourceUnavailable(f"source '{self.source}' is not connected: cannot watch '{uri}'")
        if not self.can_subscribe(client):
            raise SourceError(f"source '{self.source}' does not offer resource subscriptions")
        watchers = self._watchers.setdefault(uri, [])
        is_new = not watchers
        watchers.append(on_updated)
        if not is_new:
            return
        if client.protocol_version in MODERN_PROTOCOL_VERSIONS:
            self._changed.set()  # ``keep`` listens again, with this URI
            self._listen_error = None
            with anyio.move_on_after(LISTEN_WAIT_S):  # so no update right after this is missed
                while uri not in self._listening and self._listen_error is None:
                    await self._listened.wait()
            if uri not in self._listening:
                self._drop(uri, on_updated)
                why = self._listen_error or f"it did not start sending updates within {LISTEN_WAIT_S:g} s"
                raise SourceError(f"source '{self.source}' could not watch '{uri}': {why}")
            return
        try:
            await _subscribe(client, uri)
        except MCPError as error:
            self._drop(uri, on_updated)
            raise SourceError(f"source '{self.source}' refused to watch '{uri}': {error.message}") from None

    async def remove(self, client: Client | None, uri: str, on_updated: OnUpdated) -> None:
        if not self._drop(uri, on_updated) or client is None:
            return
        if client.protocol_version in MODERN_PROTOCOL_VERSIONS:
            self._changed.set()
            return
        try:
            await _unsubscribe(client, uri)
        except MCPError as error:  # it stops sending or it does not; either way nobody listens
            logger.info("source '%s' did not unsubscribe '%s': %s", self.source, uri, error.message)

    async def on_message(self, message: IncomingMessage) -> None:
        """The session's message handler: pass an update of a watched URI on; never raises."""
        if not isinstance(message, types.ResourceUpdatedNotification):
            return
        uri = str(message.params.uri)
        for on_updated in list(self._watchers.get(uri, ())):
            try:
                await on_updated(uri)
            except Exception:
                logger.exception("a watcher of '%s' in source '%s' failed", uri, self.source)

    async def keep(
        self, client: Client, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """For one session: ask the server for the watched URIs' updates, again when they change."""
        if not self.can_subscribe(client):
            task_status.started()
            return
        if client.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            for uri in list(self._watchers):  # a new session: the server forgot the old one's
                try:
                    await _subscribe(client, uri)
                except MCPError as error:
                    logger.info(
                        "source '%s' refused to watch '%s' again: %s", self.source, uri, error.message
                    )
            task_status.started()
            return
        is_started = False
        while True:
            self._changed = anyio.Event()
            uris = sorted(self._watchers)
            if uris:
                try:
                    async with (
                        client.listen(resource_subscriptions=uris) as subscription,
                        anyio.create_task_group() as tg,
                    ):
                        self._listening = frozenset(uris)
                        self._listened.set()
                        self._listened = anyio.Event()
                        if not is_started:
                            task_status.started()
                            is_started = True

                        async def drain() -> None:
                            async for _event in subscription:  # the message handler sees each one
                                pass

                        tg.start_soon(drain)
                        await self._changed.wait()
                        tg.cancel_scope.cancel()
                        self._listening = frozenset()
                    continue
                except Exception as error:  # a server that cannot listen just sends no updates
                    logger.info("source '%s' stopped sending resource updates: %s", self.source, error)
                    self._listening, self._listen_error = frozenset(), str(error) or type(error).__name__
                    self._listened.set()
                    self._listened = anyio.Event()
            if not is_started:
                task_status.started()
                is_started = True
            await self._changed.wait()

    def _drop(self, uri: str, on_updated: OnUpdated) -> bool:
        """Forget one watcher; True when nobody watches ``uri`` any more."""
        watchers = self._watchers.get(uri)
        if not watchers or on_updated not in watchers:
            return False
        watchers.remove(on_updated)
        if watchers:
            return False
        del self._watchers[uri]
        return True


# 2025-11-25 only (the SDK marks them deprecated for 2026-07-28, which ``keep`` serves with listen).
# A server that never answers raises MCPError (REQUEST_TIMEOUT) like one that refuses.
async def _subscribe(client: Client, uri: str) -> None:
    request = types.SubscribeRequest(params=types.SubscribeRequestParams(uri=uri))
    await client.session.send_request(request, types.EmptyResult, request_read_timeout_seconds=LISTEN_WAIT_S)


async def _unsubscribe(client: Client, uri: str) -> None:
    request = types.UnsubscribeRequest(params=types.UnsubscribeRequestParams(uri=uri))
    await client.session.send_request(request, types.EmptyResult, request_read_timeout_seconds=LISTEN_WAIT_S)
