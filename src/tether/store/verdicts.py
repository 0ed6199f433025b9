"""Waking the calls that wait for an approval's verdict in this process, at once.

A verdict set through this process's store wakes its waiters directly and is handed to the
relay (team mode) to announce; a relayed announcement wakes them too. A wake-up only makes
a waiter read the verdict from the database again: it never carries the verdict itself.
Polling stays the fallback, slower while a relay is up to bring what polling would.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

POLL_INTERVAL_S = 0.1
"""How often a waiter reads the database without a relay (another process may decide)."""
RELAYED_POLL_INTERVAL_S = 1.0
"""The same while a relay is up: decisions elsewhere arrive as wake-ups; this catches a lost one."""
ANNOUNCE_BUFFER = 1024


@dataclass(eq=False)
class Waiter:
    """One wait for one verdict: register it, read the store, then ``sleep`` if still pending."""

    woken: anyio.Event = field(default_factory=anyio.Event)
    is_asleep: bool = False

    async def sleep(self, timeout_s: float) -> None:
        """Until woken (the verdict may be set) or ``timeout_s`` passed (poll anyway)."""
        self.is_asleep = True
        try:
            with anyio.move_on_after(timeout_s):
                await self.woken.wait()
        finally:
            self.is_asleep = False


class VerdictSignals:
    """Who waits for which approval here, and who announces the verdicts decided here."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[Waiter]] = {}
        self._announcers: set[MemoryObjectSendStream[str]] = set()
        self._relayed_poll_s: float | None = None

    @property
    def poll_interval_s(self) -> float:
        """How long a waiter sleeps between two reads when nothing wakes it."""
        return POLL_INTERVAL_S if self._relayed_poll_s is None else self._relayed_poll_s

    @property
    def is_relayed(self) -> bool:
        return self._relayed_poll_s is not None

    def relay_up(self, poll_s: float = RELAYED_POLL_INTERVAL_S) -> None:
        """A relay now hears the other replicas: waiters may poll every ``poll_s`` instead."""
        self._relayed_poll_s = poll_s

    def relay_down(self) -> None:
        """The relay went away: poll fast again, starting now (waiters asleep for long are woken)."""
        if self._relayed_poll_s is None:
            return
        self._relayed_poll_s = None
        for waiters in list(self._waiters.values()):
            for waiter in waiters:
                waiter.woken.set()

    @contextmanager
    def waiting(self, approval_id: str) -> Generator[Waiter]:
        """A waiter woken when ``approval_id`` may have been decided; enter before reading the store."""
        waiter = Waiter()
        waiters = self._waiters.setdefault(approval_id, set())
        waiters.add(waiter)
        try:
            yield waiter
        finally:
            waiters.discard(waiter)
            if not waiters and self._waiters.get(approval_id) is waiters:
                del self._waiters[approval_id]

    def asleep(self, approval_id: str) -> int:
        """How many waiters here read ``approval_id`` pending and now sleep until woken or the poll."""
        return sum(w.is_asleep for w in self._waiters.get(approval_id, ()))

    def wake(self, approval_id: str) -> None:
        """Make the waiters of ``approval_id`` read its verdict again (a relay heard it was decided)."""
        for waiter in list(self._waiters.get(approval_id, ())):
            waiter.woken.set()

    def decided(self, approval_id: str) -> None:
        """This process set the verdict: wake its waiters here and let the relays announce it."""
        self.wake(approval_id)
        for stream in list(self._announcers):
            try:
                stream.send_nowait(approval_id)
            except anyio.WouldBlock:
                pass  # the others still see it by polling
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._announcers.discard(stream)

    @contextmanager
    def announced(self) -> Generator[MemoryObjectReceiveStream[str]]:
        """The ids of approvals decided here from now on, for the block (the relay forwards them)."""
        send, receive = anyio.create_memory_object_stream[str](ANNOUNCE_BUFFER)
        self._announcers.add(send)
        try:
            with receive:
                yield receive
        finally:
            self._announcers.discard(send)
            send.close()
