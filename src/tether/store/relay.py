"""Cross-replica events (team mode): host events relayed between tether processes over Redis pub/sub.

A message names only what changed (an activity row's seq, a pending or decided approval's id);
the replica that hears it reads that row from the shared store and publishes what the store
holds, or wakes the calls waiting for that verdict to read it, so Redis is never trusted with
content and a forged message shows nothing. Imported only with ``redis_url``.
"""

from __future__ import annotations

import collections
import contextlib
import json
import secrets
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream
from redis.asyncio import Redis
from redis.exceptions import RedisError

from tether.core.events import ApprovalPending, EventHub, HostEvent
from tether.core.storage import ActivityFilter
from tether.errors import StoreError, UnknownApproval, UsageError
from tether.store.db import SqlStore
from tether.store.verdicts import RELAYED_POLL_INTERVAL_S

CHANNEL_SETTING = "team.events_channel"
"""The setting naming the pub/sub channel: one per database, so teams can share a Redis."""
RECENT_KEYS = 4096
RECONNECT_AFTER_S = (0.1, 0.5, 1.0, 2.0, 5.0)
FLUSH_TIMEOUT_S = 2.0
CONNECT_TIMEOUT_S = 5.0
"""How long opening the relay waits for Redis to answer (a host that drops packets never refuses)."""
_Key = tuple[str, object]


def describe_redis_url(url: str) -> str:
    """``url`` with its password masked, to show and log."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "a Redis URL that cannot be read"
    if parts.password is not None:
        user = parts.username or ""
        netloc = f"{user}:***@{parts.hostname or ''}" + (f":{port}" if port else "")
        parts = parts._replace(netloc=netloc)
    # redis-py also takes ``?password=`` (any query argument becomes a client argument).
    query = [
        (k, "***" if "password" in k.lower() else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    if query:
        parts = parts._replace(query=urlencode(query, safe="*"))
    return urlunsplit(parts)


class EventRelay:
    """Forwards this replica's events to the channel and publishes the other replicas' ones."""

    def __init__(
        self,
        client: Redis,
        store: SqlStore,
        hub: EventHub,
        *,
        channel: str,
        verdict_poll_s: float = RELAYED_POLL_INTERVAL_S,
    ) -> None:
        self._client = client
        self._store = store
        self._hub = hub
        self.channel = channel
        self.verdict_poll_s = verdict_poll_s
        """How often a call waiting for approval still reads the database while this relay is up."""
        self.origin = secrets.token_hex(8)
        """This replica's id in messages, so it skips its own."""
        self._heard: collections.deque[_Key] = collections.deque(maxlen=RECENT_KEYS)
        self._heard_set: set[_Key] = set()

    async def send(self, events: MemoryObjectReceiveStream[HostEvent]) -> None:
        """Forward this replica's own events (not those heard from others) until cancelled."""
        async for event in events:
            await self._forward(event)

    async def announce(self, decided: MemoryObjectReceiveStream[str]) -> None:
        """Announce the approvals decided here (their ids), so the others' waiters wake at once."""
        async for approval_id in decided:
            await self._announce(approval_id)

    async def flush(
        self,
        events: MemoryObjectReceiveStream[HostEvent],
        decided: MemoryObjectReceiveStream[str] | None = None,
    ) -> None:
        """Forward what is still queued (a CLI command's last verdicts and rows) before the process ends."""
        with anyio.move_on_after(FLUSH_TIMEOUT_S):
            while decided is not None:
                try:
                    approval_id = decided.receive_nowait()
                except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                    break
                await self._announce(approval_id)
            while True:
                try:
                    event = events.receive_nowait()
                except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                    return
                await self._forward(event)

    async def receive(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Publish what other replicas announce; reconnects when Redis goes away. Runs until cancelled."""
        failures = 0
        verdicts = self._store.verdicts
        try:
            while True:
                pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                try:
                    await pubsub.subscribe(self.channel)
                    verdicts.relay_up(self.verdict_poll_s)
                    task_status.started()
                    task_status = anyio.TASK_STATUS_IGNORED
                    failures = 0
                    messages = cast(AsyncIterator[dict[str, object]], pubsub.listen())
                    async for message in messages:
                        await self.deliver(message.get("data"))
                except (RedisError, OSError):
                    # Until Redis is back, the store watcher (App.watch_store) still brings changes,
                    # and calls waiting for approval read their verdict at the fast pace again.
                    verdicts.relay_down()
                    await anyio.sleep(RECONNECT_AFTER_S[min(failures, len(RECONNECT_AFTER_S) - 1)])
                    failures += 1
                finally:
                    with anyio.CancelScope(shield=True):
                        await pubsub.aclose()
        finally:
            verdicts.relay_down()

    async def deliver(self, data: object) -> None:
        """Publish the row a message names, as the store has it; ignore anything else."""
        try:
            message = json.loads(data) if isinstance(data, str | bytes) else None
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        fields = cast(dict[str, object], message)
        if fields.get("origin") == self.origin:
            return
        seq, approval_id, decided = fields.get("activity"), fields.get("approval"), fields.get("decided")
        if isinstance(decided, str):
            # Only a wake-up: each waiter reads the verdict from the store, so a forged one decides nothing.
            self._store.verdicts.wake(decided)
        elif isinstance(seq, int) and not isinstance(seq, bool):
            self._remember(("activity", seq))
            query = ActivityFilter(after_seq=seq - 1, before_seq=seq + 1)
            for record in await self._store.records(query):
                self._hub.publish(record)
        elif isinstance(approval_id, str):
            self._remember(("approval", approval_id))
            try:
                stored = await self._store.get_approval(approval_id)
            except UnknownApproval:
                return
            if stored.verdict is None:
                self._hub.publish(ApprovalPending(stored.request))

    async def _forward(self, event: HostEvent) -> None:
        if isinstance(event, ApprovalPending):
            key: _Key = ("approval", event.request.id)
        else:
            key = ("activity", event.seq)
        if key in self._heard_set:
            return  # another replica announced it already
        message = json.dumps({"origin": self.origin, key[0]: key[1]})
        # If Redis is away, the others' store watchers still see the row, half a second later.
        with contextlib.suppress(RedisError, OSError):
            await self._client.publish(self.channel, message)

    async def _announce(self, approval_id: str) -> None:
        message = json.dumps({"origin": self.origin, "decided": approval_id})
        # Shielded: a command that ends right after deciding must not cut its announcement short.
        deadline = anyio.current_time() + FLUSH_TIMEOUT_S
        with anyio.CancelScope(deadline=deadline, shield=True):
            # If Redis is away, the others' waiters have gone back to reading the store every 0.1 s.
            with contextlib.suppress(RedisError, OSError):
                await self._client.publish(self.channel, message)

    def _remember(self, key: _Key) -> None:
        if key in self._heard_set:
            return
        if len(self._heard) == self._heard.maxlen:
            self._heard_set.discard(self._heard[0])
        self._heard.append(key)
        self._heard_set.add(key)


@asynccontextmanager
async def relayed_events(
    url: str,
    store: SqlStore,
    hub: EventHub,
    *,
    verdict_poll_s: float = RELAYED_POLL_INTERVAL_S,
) -> AsyncGenerator[EventRelay]:
    """Relay ``hub``'s events and ``store``'s verdicts to and from the other replicas on ``url``'s
    Redis for the block. While it is up, calls waiting for approval read the store every
    ``verdict_poll_s`` only: a verdict decided on another replica wakes them at once."""
    if not verdict_poll_s > 0:
        raise UsageError(
            f"relay_verdict_poll_s must be more than 0 seconds, got {verdict_poll_s:g}: "
            f"set it to {RELAYED_POLL_INTERVAL_S:g} or unset it"
        )
    where = describe_redis_url(url)
    try:
        client = Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S)
    except ValueError:
        raise StoreError(
            f"cannot read the Redis URL {where}: write it as redis://[:PASSWORD@]HOST:6379/0"
        ) from None
    try:
        try:
            with anyio.fail_after(CONNECT_TIMEOUT_S):
                await client.ping()
        except (RedisError, OSError) as error:  # OSError includes the TimeoutError of fail_after
            raise StoreError(
                f"cannot reach Redis at {where} ({type(error).__name__}): check that it runs there "
                "and that TETHER_REDIS_URL names it, or unset it to use the store watcher alone"
            ) from None
        channel = await store.setting_or_default(CHANNEL_SETTING, "tether:" + secrets.token_hex(8))
        relay = EventRelay(client, store, hub, channel=str(channel), verdict_poll_s=verdict_poll_s)
        with hub.subscribe() as events, store.verdicts.announced() as decided:
            async with anyio.create_task_group() as tg:
                await tg.start(relay.receive)
                tg.start_soon(relay.send, events)
                tg.start_soon(relay.announce, decided)
                try:
                    yield relay
                finally:
                    tg.cancel_scope.cancel()
            with anyio.CancelScope(shield=True):
                await relay.flush(events, decided)
    finally:
        with anyio.CancelScope(shield=True):
            await client.aclose()
