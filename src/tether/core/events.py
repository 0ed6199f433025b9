"""In-process notices for whoever watches the host live: the web UI's SSE, the gateway's list_changed.

Every activity record is published after it is stored, and a pending approval is published
when it starts to wait. A subscriber that falls behind loses notices rather than slowing
the call path; it can always re-read the store.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from tether.types import ActivityRecord, ApprovalRequest

SUBSCRIBER_BUFFER = 256
RECENT_KEYS = 4096


@dataclass(frozen=True, slots=True)
class ApprovalPending:
    request: ApprovalRequest


HostEvent = ActivityRecord | ApprovalPending


class EventHub:
    def __init__(self) -> None:
        self._subscribers: set[MemoryObjectSendStream[HostEvent]] = set()
        # What was published lately, so a store watcher can re-offer rows and approvals freely.
        self._recent: collections.deque[tuple[str, object]] = collections.deque(maxlen=RECENT_KEYS)
        self._recent_set: set[tuple[str, object]] = set()

    def publish(self, event: HostEvent) -> None:
        """Offer ``event`` to every subscriber, once: an event published before is ignored."""
        key = (
            ("approval", event.request.id) if isinstance(event, ApprovalPending) else ("activity", event.seq)
        )
        if key in self._recent_set:
            return
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(key)
        self._recent_set.add(key)
        for stream in list(self._subscribers):
            try:
                stream.send_nowait(event)
            except anyio.WouldBlock:
                pass  # a slow subscriber misses this one; the store still has it
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._subscribers.discard(stream)

    @contextmanager
    def subscribe(self, buffer: float = SUBSCRIBER_BUFFER) -> Generator[MemoryObjectReceiveStream[HostEvent]]:
        send, receive = anyio.create_memory_object_stream[HostEvent](
            buffer if buffer != math.inf else math.inf
        )
        self._subscribers.add(send)
        try:
            with receive:
                yield receive
        finally:
            self._subscribers.discard(send)
            send.close()
