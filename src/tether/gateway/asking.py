"""A source asking a 2026-07-28 client mid-call: the call waits while the client answers.

A 2026-07-28 client cannot be sent a request during a call; it is asked by an
``input_required`` result and answers by calling again. So for such a client (one that declared
sampling or elicitation), the gateway runs the call in its own task group: when the source asks,
the client gets an ``input_required`` result carrying the request, and its retried call hands
the answer to the waiting source and waits for the next question or the result. A question the
client does not answer within ``ttl_s`` gets the source an error. One question per round.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.abc
from mcp import MCPError, types
from mcp.server import ServerRequestContext
from mcp.server.context import HandlerResult

from tether.core.host import Host
from tether.gateway.peer import ClientPeer, LogLevels
from tether.types import Actor, JSONObject

logger = logging.getLogger(__name__)

Context = ServerRequestContext[Any, Any]
STATE_PREFIX = "asked:"
InputRequest = types.CreateMessageRequest | types.ElicitRequest


class _Question:
    def __init__(self, key: str, request: InputRequest) -> None:
        self.key = key
        self.request = request
        self.is_sent = False
        self.answered = anyio.Event()
        self.answer: types.InputResponse | None = None


class _Pending:
    """One call running for a 2026-07-28 client, between its rounds."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        """The client's request now waiting on the call (progress and log messages go there)."""
        self.scope = anyio.CancelScope()
        self.questions: list[_Question] = []
        self.outcome: HandlerResult | None = None
        self.changed = anyio.Event()
        self.is_awaited = False

    def note_change(self) -> None:
        self.changed.set()
        self.changed = anyio.Event()


class DeferringPeer(ClientPeer):
    """The client of such a call: its questions wait for the client's next round."""

    __slots__ = ("_pending", "_ttl_s")

    def __init__(
        self, pending: _Pending, ttl_s: float, levels: LogLevels, host: Host, actor: Actor, tool: str
    ) -> None:
        super().__init__(pending.ctx, levels, host, actor, tool)
        self._pending = pending
        self._ttl_s = ttl_s

    def _current(self) -> Context:
        return self._pending.ctx

    async def _send(self, source: str, request: InputRequest, what: str) -> JSONObject:
        pending = self._pending
        question = _Question(f"{source}-{len(pending.questions) + 1}", request)
        pending.questions.append(question)
        pending.note_change()
        with anyio.move_on_after(self._ttl_s):
            await question.answered.wait()
        answer = question.answer
        if answer is None:
            await self._refuse(
                source, what, f"the client connected to tether did not answer within {self._ttl_s:g} s"
            )
        if isinstance(answer, types.ErrorData):
            await self._record(source, what, "failed", answer.message)
            raise MCPError.from_error_data(answer)
        answered = answer.model_dump(by_alias=True, exclude_none=True, mode="json")
        action = answered.get("action")
        await self._record(source, what, action if isinstance(action, str) else "answered")
        return answered


class AskingCalls:
    """The calls of 2026-07-28 clients that may be asked; runs them in ``task_group``."""

    def __init__(self, *, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self.task_group: anyio.abc.TaskGroup | None = None
        self._pending: dict[str, _Pending] = {}

    def can_run(self, ctx: Context) -> bool:
        capabilities = ctx.session.client_capabilities
        return (
            self.task_group is not None
            and capabilities is not None
            and (capabilities.sampling is not None or capabilities.elicitation is not None)
        )

    async def start(
        self,
        ctx: Context,
        peer: tuple[LogLevels, Host, Actor, str],
        run: Callable[[ClientPeer, Callable[[], Context]], Awaitable[HandlerResult]],
    ) -> HandlerResult:
        """Run the call in the background: ``run`` gets the peer to set and who asks now (for
        progress). Wait for the call's first step: its result, or a question for the client."""
        assert self.task_group is not None
        pending = _Pending(ctx)
        nonce = secrets.token_urlsafe(16)
        self._pending[nonce] = pending
        deferring = DeferringPeer(pending, self.ttl_s, *peer)

        async def background() -> None:
            try:
                with pending.scope:
                    pending.outcome = await run(deferring, lambda: pending.ctx)
            except Exception:  # as the SDK would for a call in the request: never the gateway's end
                logger.exception("a call of a 2026-07-28 client failed")
                pending.outcome = _failed()
            finally:
                if pending.outcome is None:
                    pending.outcome = _gone()
                pending.note_change()
                if not pending.is_awaited:
                    self._pending.pop(nonce, None)

        self.task_group.start_soon(background)
        return await self._next(nonce, pending)

    async def resume(self, ctx: Context, params: types.CallToolRequestParams) -> HandlerResult | None:
        """The client's answer to a question: hand it over, wait for the next step. None when
        the call is not an answer to one of these questions."""
        state = params.request_state
        if state is None or not state.startswith(STATE_PREFIX):
            return None
        nonce = state.removeprefix(STATE_PREFIX)
        pending = self._pending.get(nonce)
        if pending is None:
            return {
                "content": [{"type": "text", "text": "this call ended or expired: call the tool again"}],
                "isError": True,
                "resultType": "complete",
            }
        for question in pending.questions:
            response = (params.input_responses or {}).get(question.key)
            if question.is_sent and not question.answered.is_set() and response is not None:
                question.answer = response
                question.answered.set()
        pending.ctx = ctx
        return await self._next(nonce, pending)

    async def _next(self, nonce: str, pending: _Pending) -> HandlerResult:
        pending.is_awaited = True
        try:
            while True:
                if pending.outcome is not None:
                    self._pending.pop(nonce, None)
                    return pending.outcome
                unsent = [question for question in pending.questions if not question.is_sent]
                if unsent:
                    unsent[0].is_sent = True
                    return types.InputRequiredResult(
                        input_requests={unsent[0].key: unsent[0].request},
                        request_state=STATE_PREFIX + nonce,
                    )
                await pending.changed.wait()
        except anyio.get_cancelled_exc_class():
            pending.scope.cancel()  # the client left while the call ran: the call ends too
            raise
        finally:
            pending.is_awaited = False


def _failed() -> HandlerResult:
    return {
        "content": [{"type": "text", "text": "tether failed to run the call: see its log"}],
        "isError": True,
        "resultType": "complete",
    }


def _gone() -> HandlerResult:
    return {
        "content": [{"type": "text", "text": "the call was cancelled"}],
        "isError": True,
        "resultType": "complete",
    }
