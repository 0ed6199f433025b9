"""``ChatRun``: one run of the assistant as an async context manager that yields events.

Entering prepares the run (errors such as "no model configured" are raised right there),
then the run goes on in a task the context owns. Leaving early tears it down as if tether
stopped: what was checkpointed stays, and calls waiting for approval stay pending.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from pydantic_ai import CancellationToken

from tether.chat.events import ChatEvent

Emit = Callable[[ChatEvent], Awaitable[None]]


class Prepared(Protocol):
    @property
    def conversation_id(self) -> str: ...


P = TypeVar("P", bound=Prepared)


class ChatRun(Generic[P]):
    """``async with assistant.send(...) as run: async for event in run: ...``; ``run.cancel()`` stops it."""

    def __init__(
        self, prepare: Callable[[], Awaitable[P]], drive: Callable[[P, ChatRun[P], Emit], Awaitable[None]]
    ) -> None:
        self._prepare = prepare
        self._drive = drive
        self.token = CancellationToken()
        self.conversation_id = ""
        self._task_group: anyio.abc.TaskGroup | None = None
        self._receive: MemoryObjectReceiveStream[ChatEvent] | None = None
        self._is_over = False

    def cancel(self) -> None:
        """Stop the run as the user asked: it keeps what it did and gives up its pending approvals."""
        self.token.cancel()

    async def __aenter__(self) -> Self:
        plan = await self._prepare()
        self.conversation_id = plan.conversation_id
        send, self._receive = anyio.create_memory_object_stream[ChatEvent](math.inf)
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        self._task_group.start_soon(self._run, plan, send)
        return self

    async def _run(self, plan: P, send: MemoryObjectSendStream[ChatEvent]) -> None:
        async with send:
            await self._drive(plan, self, send.send)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ChatEvent:
        assert self._receive is not None, "use 'async with' before iterating"
        try:
            return await self._receive.receive()
        except anyio.EndOfStream:
            self._is_over = True
            raise StopAsyncIteration from None

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        assert self._task_group is not None
        assert self._receive is not None
        if not self._is_over:
            self._task_group.cancel_scope.cancel()
        try:
            return await self._task_group.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            # One failure is the run's own error (a TetherError, say): give it back as it is.
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise
        finally:
            self._receive.close()
