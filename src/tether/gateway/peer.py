"""The gateway's client as the ``CallPeer`` of one call: what a source may ask it, and how.

A source's sampling and elicitation requests go to the client only if it declared the
capability and can be asked mid-call (a 2025-11-25 connection); otherwise the source gets an
MCP error saying why. An elicitation is labelled with the source's name, so the user knows
who asks. Log messages pass at the levels the client asked for, under the source's name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn, TypeVar, get_args
from weakref import WeakKeyDictionary

from mcp import MCPError, types
from mcp.server import ServerRequestContext
from mcp.server.connection import allowed_log_levels
from mcp.server.session import ServerSession
from mcp.shared.exceptions import NoBackChannelError
from mcp.shared.message import ServerMessageMetadata
from pydantic import BaseModel, ConfigDict, ValidationError

from tether.core.activity import ActivityEvent
from tether.core.host import Host
from tether.errors import TetherError
from tether.types import JSON, Actor, JSONObject

logger = logging.getLogger(__name__)

Context = ServerRequestContext[Any, Any]
_LEVELS: tuple[str, ...] = get_args(types.LoggingLevel)
_M = TypeVar("_M", bound=BaseModel)


class _AsAnswered(BaseModel):
    """The client's result as it came, validated only by the SDK's own result check."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True, slots=True)
class SourceAsked(ActivityEvent):
    """During a call (``tool``), the source asked the client of the call something."""

    kind: ClassVar[str] = "source.asked"
    request: str = ""
    """sampling or elicitation."""
    outcome: str = ""
    """answered (sampling), accept, decline or cancel (elicitation), refused (tether or the
    client could not pass it on) or failed (the client answered an error)."""
    error: str | None = None


class LogLevels:
    """The level each 2025-11-25 client asked for with ``logging/setLevel`` (default: all).

    A 2026-07-28 client asks per request instead, and the SDK reads that from the request."""

    def __init__(self) -> None:
        self._by_connection: WeakKeyDictionary[object, int] = WeakKeyDictionary()

    def set(self, session: ServerSession, level: str) -> None:
        self._by_connection[connection_of(session)] = _LEVELS.index(level) if level in _LEVELS else 0

    def allows(self, session: ServerSession, level: str) -> bool:
        lowest = self._by_connection.get(connection_of(session), 0)
        return level not in _LEVELS or _LEVELS.index(level) >= lowest


class ClientPeer:
    """Built per gateway call (cheap: it only keeps what it is given). Each request it passes
    on, or refuses, is recorded as a ``source.asked`` activity row of the call's actor."""

    __slots__ = ("_actor", "_ctx", "_host", "_levels", "_tool")

    def __init__(self, ctx: Context, levels: LogLevels, host: Host, actor: Actor, tool: str) -> None:
        self._ctx = ctx
        self._levels = levels
        self._host = host
        self._actor = actor
        self._tool = tool

    async def create_message(self, source: str, params: JSONObject) -> JSONObject:
        capabilities = self._current().session.client_capabilities
        if capabilities is None or capabilities.sampling is None:
            await self._refuse(source, "sampling", "the client connected to tether does not support sampling")
        if params.get("includeContext", "none") != "none":
            # To the client, "this server" is tether: every source. One source must not have the
            # client's context from the others put into its sampling, so it gets none.
            params = {**params, "includeContext": "none"}
        request = types.CreateMessageRequest(params=_parse(types.CreateMessageRequestParams, params))
        return await self._send(source, request, "sampling")

    async def elicit(self, source: str, params: JSONObject) -> JSONObject:
        capabilities = self._current().session.client_capabilities
        support = capabilities.elicitation if capabilities is not None else None
        if support is None:
            await self._refuse(
                source, "elicitation", "the client connected to tether does not support elicitation"
            )
        if params.get("mode") == "url" and support.url is None:  # ``{}`` declares form only
            await self._refuse(
                source, "elicitation", "the client connected to tether does not support URL elicitation"
            )
        labelled = {**params, "message": f"{source} asks: {params.get('message', '')}"}
        request = types.ElicitRequest(
            params=_parse(types.ElicitRequestFormParams, labelled)
            if labelled.get("mode", "form") == "form"
            else _parse(types.ElicitRequestURLParams, labelled)
        )
        return await self._send(source, request, "elicitation")

    async def log(self, source: str, level: str, logger: str | None, data: JSON) -> None:
        ctx = self._current()
        if level not in allowed_log_levels(ctx.protocol_version, ctx.meta):
            return
        if not self._levels.allows(ctx.session, level):
            return
        notification = types.LoggingMessageNotification(
            params=types.LoggingMessageNotificationParams.model_validate(
                {"level": level, "logger": f"{source}/{logger}" if logger else source, "data": data}
            )
        )
        await ctx.session.send_notification(notification, related_request_id=ctx.request_id)

    def _current(self) -> Context:
        """The client's request the call belongs to now."""
        return self._ctx

    async def _send(
        self, source: str, request: types.CreateMessageRequest | types.ElicitRequest, what: str
    ) -> JSONObject:
        """Ask the client during the call (2025-11-25); ``_refuse`` when it cannot be asked.

        The call's own timeout stands still meanwhile, so the client gets as long as an
        approval does (``Host.approval_timeout_s``), as a 2026-07-28 client does for its rounds.
        """
        ctx = self._ctx
        if not ctx.session.can_send_request:
            await self._refuse(
                source,
                what,
                f"the client connected to tether (MCP {ctx.protocol_version}) cannot be asked for {what} "
                "during this call",
            )
        try:
            answer = await ctx.session.send_request(
                request,
                _AsAnswered,
                request_read_timeout_seconds=self._host.approval_timeout_s,
                metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
            )
        except NoBackChannelError:
            await self._refuse(source, what, f"the client connected to tether has gone: no {what} possible")
        except MCPError as error:
            await self._record(source, what, "failed", error.message)
            raise
        answered = answer.model_dump(by_alias=True, exclude_none=True, mode="json")
        action = answered.get("action")
        await self._record(source, what, action if isinstance(action, str) else "answered")
        return answered

    async def _refuse(self, source: str, what: str, why: str) -> NoReturn:
        await self._record(source, what, "refused", why)
        raise MCPError(types.INVALID_REQUEST, why)

    async def _record(self, source: str, what: str, outcome: str, error: str | None = None) -> None:
        event = SourceAsked(source=source, tool=self._tool, request=what, outcome=outcome, error=error)
        try:
            await self._host.record(event, actor=self._actor)
        except TetherError as failure:  # the answer still goes back; the log says why it could not
            logger.warning("could not record that source '%s' asked for %s: %s", source, what, failure)


def connection_of(session: ServerSession) -> object:
    """What stays the same across one client's requests (a ServerSession is built per request)."""
    return getattr(session, "_connection", session)


def _parse(model: type[_M], params: JSONObject) -> _M:
    try:
        return model.model_validate(params)
    except ValidationError as error:
        raise MCPError(types.INVALID_PARAMS, f"tether cannot pass this request on: {error}") from None
