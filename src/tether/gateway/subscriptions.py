"""Resource subscriptions through the gateway: each passed on to the source that owns the URI.

A 2025-11-25 client subscribes with ``resources/subscribe``; a 2026-07-28 client names URIs
on its ``subscriptions/listen`` stream. Either way the source is asked once per resource
(however many clients watch it) and its ``notifications/resources/updated`` reach every
subscribed client under the URI that client used. Unreachable or unknown URIs are refused.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp import MCPError, types
from mcp.server import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.subscriptions import ListenHandler, ResourceUpdated, SubscriptionBus

from tether.core.host import Host
from tether.core.tools import ResourceWatcher
from tether.errors import TetherError
from tether.gateway.callers import Caller
from tether.gateway.catalog import GatewayCatalog
from tether.gateway.peer import connection_of

logger = logging.getLogger(__name__)

Context = ServerRequestContext[Any, Any]
Key = tuple[str, str]
"""(source, the URI as the source names it)."""
NOTIFY_TIMEOUT_S = 2.0


class ResourceSubscriptions:
    """Who watches which resource, and the one watch per resource held at its source."""

    def __init__(
        self,
        host: Host,
        catalog: GatewayCatalog,
        bus: SubscriptionBus,
        listen: ListenHandler,
        caller: Callable[[], Awaitable[Caller]],
    ) -> None:
        self._host = host
        self._catalog = catalog
        self._bus = bus
        self._listen = listen
        self._caller = caller
        self._sessions: dict[Key, list[tuple[ServerSession, str]]] = {}
        """2025-11-25 subscribers: the connection and the URI it subscribed with."""
        self._streams: dict[Key, list[str]] = {}
        """URIs 2026-07-28 listen streams named, one entry per stream."""
        self._held: dict[Key, Callable[[str], Awaitable[None]]] = {}

    # -- 2025-11-25 ----------------------------------------------------------------------

    async def subscribe(self, ctx: Context, params: types.SubscribeRequestParams) -> dict[str, Any]:
        key = await self._resolve(await self._caller(), str(params.uri))
        await self._hold(key)
        self._sessions.setdefault(key, []).append((ctx.session, str(params.uri)))
        return {}

    async def unsubscribe(self, ctx: Context, params: types.UnsubscribeRequestParams) -> dict[str, Any]:
        key = await self._resolve(await self._caller(), str(params.uri))
        connection = connection_of(ctx.session)
        subscribers = self._sessions.get(key, [])
        kept = [entry for entry in subscribers if connection_of(entry[0]) is not connection]
        if len(kept) != len(subscribers):
            self._sessions[key] = kept
            await self._release(key)
        return {}

    # -- 2026-07-28 ----------------------------------------------------------------------

    async def listen(self, ctx: Context, params: types.SubscriptionsListenRequestParams) -> Any:
        """Serve a listen stream; the resources it names are watched at their sources meanwhile."""
        wanted = params.notifications.resource_subscriptions or []
        watched: list[tuple[Key, str]] = []
        try:
            if wanted:
                caller = await self._caller()
                for uri in wanted:
                    try:
                        key = await self._resolve(caller, uri)
                        await self._hold(key)
                    except MCPError:
                        continue  # not honored: this stream hears nothing about it
                    self._streams.setdefault(key, []).append(uri)
                    watched.append((key, uri))
                honored = params.notifications.model_copy(
                    update={"resource_subscriptions": [uri for _, uri in watched] or None}
                )
                params = params.model_copy(update={"notifications": honored})
            return await self._listen(ctx, params)
        finally:
            with anyio.CancelScope(shield=True):
                for key, uri in watched:
                    self._streams[key].remove(uri)
                    await self._release(key)

    # -- both ----------------------------------------------------------------------------

    async def _resolve(self, caller: Caller, uri: str) -> Key:
        try:
            source_name, source_uri = await self._catalog.find_resource(caller, uri)
        except TetherError as error:
            raise MCPError(types.INVALID_PARAMS, f"{error.message} [{error.code}]") from None
        if not isinstance(self._host.source(source_name), ResourceWatcher):
            raise MCPError(
                types.INVALID_PARAMS, f"source '{source_name}' cannot tell tether when its resources change"
            )
        return source_name, source_uri

    async def _hold(self, key: Key) -> None:
        """Watch ``key`` at its source unless already watched."""
        if key in self._held:
            return
        source_name, uri = key
        source = self._host.source(source_name)
        if not isinstance(source, ResourceWatcher):
            raise MCPError(types.INVALID_PARAMS, f"source '{source_name}' cannot watch resources")

        async def on_updated(changed: str) -> None:
            await self._tell(key)

        self._held[key] = on_updated
        try:
            await source.subscribe_resource(uri, on_updated)
        except TetherError as error:
            del self._held[key]
            raise MCPError(types.INVALID_PARAMS, f"{error.message} [{error.code}]") from None

    async def _release(self, key: Key) -> None:
        """Stop watching ``key`` at its source once no client watches it."""
        if self._sessions.get(key) or self._streams.get(key):
            return
        self._sessions.pop(key, None)
        self._streams.pop(key, None)
        on_updated = self._held.pop(key, None)
        if on_updated is None:
            return
        source = self._host.source(key[0])
        if isinstance(source, ResourceWatcher):
            try:
                await source.unsubscribe_resource(key[1], on_updated)
            except TetherError as error:
                logger.info("could not stop watching %s at source '%s': %s", key[1], key[0], error)

    async def _tell(self, key: Key) -> None:
        for uri in sorted(set(self._streams.get(key, ()))):
            await self._bus.publish(ResourceUpdated(uri=uri))
        gone: list[tuple[ServerSession, str]] = []
        for session, uri in list(self._sessions.get(key, ())):
            try:
                with anyio.fail_after(NOTIFY_TIMEOUT_S):
                    await session.send_resource_updated(uri)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, TimeoutError):
                gone.append((session, uri))  # the client left
        if gone:
            self._sessions[key] = [entry for entry in self._sessions.get(key, []) if entry not in gone]
            await self._release(key)
