"""A source server's requests during a call, routed to the client waiting on that call.

``SourcePeers`` supplies the sampling, elicitation and logging callbacks of a source's
``Client`` and knows which calls the source is running, each with the ``call_peer`` that was
set when it started. A request reaches a client only while a call that client made is running;
with no such call (the chat, the CLI, or no call at all) the server gets an MCP error saying why.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Generator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio
from mcp import MCPError, types
from mcp.client.session import ClientRequestContext
from pydantic import BaseModel, ValidationError

from tether.core.tools import CallPeer, call_peer
from tether.errors import TetherError
from tether.types import JSONObject

__all__ = ["PASSED_LOG_LEVEL", "PeerCall", "SourcePeers"]

logger = logging.getLogger(__name__)

PASSED_LOG_LEVEL: types.LoggingLevel = "info"
"""The level a 2026-07-28 source is asked to log from (it logs only when asked, per request)."""

AnswerT = TypeVar("AnswerT")
SamplingAnswer = types.CreateMessageResult | types.CreateMessageResultWithTools | types.ErrorData


def _as_json(model: BaseModel) -> JSONObject:
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


class PeerCall:
    """One running call a client waits on, and the scope that times it out (when set)."""

    __slots__ = ("_left_s", "_pauses", "peer", "timeout")

    def __init__(self, peer: CallPeer) -> None:
        self.peer = peer
        self.timeout: anyio.CancelScope | None = None
        self._pauses = 0
        self._left_s = 0.0

    @contextmanager
    def paused(self) -> Generator[None]:
        """While the client's user or model answers, the call's timeout stands still: it has
        as long left afterwards as it had before. Pauses may overlap (2026-07-28 servers ask
        several things at once)."""
        timeout = self.timeout
        if timeout is None:
            yield
            return
        if self._pauses == 0:
            self._left_s = timeout.deadline - anyio.current_time()
            timeout.deadline = math.inf
        self._pauses += 1
        try:
            yield
        finally:
            self._pauses -= 1
            if self._pauses == 0:
                timeout.deadline = anyio.current_time() + self._left_s


class SourcePeers:
    """The calls one source is running and who waits on each; one per source, kept across restarts.

    On 2026-07-28 a server's requests arrive inside the call's own result (``input_required``),
    so the call's ``call_peer`` is in context. On 2025-11-25 they arrive on their own and carry
    nothing that names the call: they go to the one call running, and are refused while several
    run, since tether cannot tell which client should be asked.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self._running = 0
        self._calls: list[PeerCall] = []

    # -- the call path (cheap: no await, nothing made for a call nobody waits on) ---------

    def begin(self) -> PeerCall | None:
        """A call starts: note it, and the peer waiting on it if any. Pair with ``end``; give
        the returned call its timeout scope, so time spent waiting on the peer is not counted."""
        self._running += 1
        peer = call_peer.get()
        if peer is None:
            return None
        call = PeerCall(peer)
        self._calls.append(call)
        return call

    def end(self, call: PeerCall | None) -> None:
        self._running -= 1
        if call is not None:
            self._calls.remove(call)

    # -- the session's callbacks ----------------------------------------------------------

    async def sampling(
        self, context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> SamplingAnswer:
        def parse(answer: JSONObject) -> types.CreateMessageResult | types.CreateMessageResultWithTools:
            if isinstance(answer.get("content"), list):
                return types.CreateMessageResultWithTools.model_validate(answer)
            return types.CreateMessageResult.model_validate(answer)

        return await self._ask(
            "sampling", lambda peer: peer.create_message(self.source, _as_json(params)), parse
        )

    async def elicitation(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        return await self._ask(
            "elicitation",
            lambda peer: peer.elicit(self.source, _as_json(params)),
            types.ElicitResult.model_validate,
        )

    async def _ask(
        self,
        what: str,
        ask: Callable[[CallPeer], Awaitable[JSONObject]],
        parse: Callable[[JSONObject], AnswerT],
    ) -> AnswerT | types.ErrorData:
        """Ask the client of the running call (its timeout paused meanwhile); an MCP error if
        there is none, it refuses, or its answer is not valid MCP."""
        try:
            call = self._call_for(what)
            with call.paused():
                answer = await ask(call.peer)
            return parse(answer)
        except MCPError as error:
            return error.error
        except TetherError as error:
            return types.ErrorData(code=types.INVALID_REQUEST, message=f"{error.message} [{error.code}]")
        except ValidationError as error:
            return types.ErrorData(
                code=types.INTERNAL_ERROR, message=f"the client's {what} result is not valid MCP: {error}"
            )

    async def logging(self, params: types.LoggingMessageNotificationParams) -> None:
        """Pass a log message to the client of the running call; without one, drop it."""
        try:
            peer = self._call_for("logging").peer
        except MCPError:
            logger.debug("source '%s' logged outside a gateway call: %s", self.source, params.data)
            return
        data: Any = params.data
        try:
            await peer.log(self.source, params.level, params.logger, data)
        except Exception as error:  # a client that went away must not end the source's session
            logger.debug("could not pass a log message of source '%s' on: %s", self.source, error)

    def _call_for(self, what: str) -> PeerCall:
        peer = call_peer.get()
        if peer is not None:
            for call in self._calls:
                if call.peer is peer:
                    return call  # 2026-07-28: the request came inside the call's own result
        if self._running == 1 and len(self._calls) == 1:
            return self._calls[0]
        if self._running == 0:
            why = "it is not running a call that a client is waiting on"
        elif not self._calls:
            why = "the call it is running was not made by an MCP client connected to tether"
        else:
            why = (
                "it is running several calls at once and tether cannot tell which call the request belongs to"
            )
        raise MCPError(types.INVALID_REQUEST, f"tether refused {what} from source '{self.source}': {why}")
