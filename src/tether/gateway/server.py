"""The gateway's MCP server: a lowlevel ``Server`` whose handlers route everything through the host.

``tools/call`` resolves the name among the caller's tools, picks the per-call approvers the
client can answer, and calls ``Host.call_tool`` with the caller as actor; the answer is the
source's result unchanged, or tether's refusal as a tool error. Both protocol versions are
served by the SDK's own server classes; this module only supplies handlers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import asynccontextmanager
from importlib import metadata
from typing import Any, cast

import anyio
from mcp import MCPError, types
from mcp.server import NotificationOptions, Server, ServerRequestContext
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.caching import CACHEABLE_METHODS, CacheableMethod, CacheHint
from mcp.server.context import HandlerResult
from mcp.server.models import InitializationOptions
from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity
from mcp.types.version import MODERN_PROTOCOL_VERSIONS

from tether.core.approvals import Approver
from tether.core.host import Host
from tether.core.tools import ContentReader, call_peer, call_progress
from tether.errors import TetherError
from tether.gateway import search
from tether.gateway.approvals import AnsweredApprover, ElicitingApprover, InputRequests, WaitingNotice
from tether.gateway.asking import AskingCalls
from tether.gateway.callers import Caller
from tether.gateway.catalog import GatewayCatalog, split_gateway_uri
from tether.gateway.changes import ListChanges
from tether.gateway.peer import ClientPeer, LogLevels
from tether.gateway.results import error_result, refusal, wire_result
from tether.gateway.subscriptions import ResourceSubscriptions
from tether.types import JSON, Actor, Effect, HostedTool

Context = ServerRequestContext[Any, Any]

INSTRUCTIONS = (
    "tether gives you the tools of the user's extensions and connectors, named <source>__<tool>. "
    "A call may wait for the user's approval; a refused call answers with a tool error saying why."
)
NO_CACHING: dict[CacheableMethod, CacheHint] = {
    cast(CacheableMethod, method): CacheHint(ttl_ms=0, scope="private") for method in CACHEABLE_METHODS
}
ALL_LISTS_CHANGE = NotificationOptions(prompts_changed=True, resources_changed=True, tools_changed=True)


def _version() -> str:
    try:
        return metadata.version("tether")
    except metadata.PackageNotFoundError:
        return "0"


class _McpServer(Server[Any]):
    # The HTTP session manager builds initialize results without options: list changes are
    # announced on every transport, so they are the default here.
    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or ALL_LISTS_CHANGE, experimental_capabilities, extensions
        )


class Gateway:
    """One gateway over ``host``. ``caller`` serves requests that carry no token (stdio, tests);
    None means every request must come with one (HTTP). Lists wait for ``ready`` (the sources'
    first start) when given, so a client's handshake overlaps with starting them."""

    def __init__(self, host: Host, *, caller: Caller | None, ready: anyio.Event | None = None) -> None:
        self.host = host
        self._ready = ready
        self.catalog = GatewayCatalog(host)
        self.changes = ListChanges(host)
        self._default_caller = caller
        self._input = InputRequests()
        self._log_levels = LogLevels()
        self._asking = AskingCalls(ttl_s=host.approval_timeout_s)
        self.subscriptions = ResourceSubscriptions(
            host, self.catalog, self.changes.bus, self.changes.listen, self._caller
        )
        self.server: Server[Any] = _McpServer(
            "tether",
            version=_version(),
            title="tether",
            instructions=INSTRUCTIONS,
            get_tool_input_schema=self.catalog.input_schema,
            # Lists depend on the token and change with policies: never reuse one without asking.
            cache_hints=NO_CACHING,
            on_subscriptions_listen=self.subscriptions.listen,
        )
        handlers: list[tuple[str, type[Any], Any]] = [
            ("tools/list", types.PaginatedRequestParams, self._list_tools),
            ("tools/call", types.CallToolRequestParams, self._call_tool),
            ("prompts/list", types.PaginatedRequestParams, self._list_prompts),
            ("prompts/get", types.GetPromptRequestParams, self._get_prompt),
            ("resources/list", types.PaginatedRequestParams, self._list_resources),
            ("resources/read", types.ReadResourceRequestParams, self._read_resource),
            ("resources/templates/list", types.PaginatedRequestParams, self._list_templates),
            ("resources/subscribe", types.SubscribeRequestParams, self.subscriptions.subscribe),
            ("resources/unsubscribe", types.UnsubscribeRequestParams, self.subscriptions.unsubscribe),
            ("completion/complete", types.CompleteRequestParams, self._complete),
            ("logging/setLevel", types.SetLevelRequestParams, self._set_level),
        ]
        for method, params_type, handler in handlers:
            self.server.add_request_handler(method, params_type, handler)
        self.server.middleware.append(self.changes.capture)
        # Seals the state of input_required results: bound to tool, arguments and token, with expiry.
        self.server.middleware.append(
            RequestStateBoundary(RequestStateSecurity.ephemeral(), default_audience="tether-gateway")
        )

    @asynccontextmanager
    async def running(self) -> AsyncGenerator[None]:
        """Follow the host's changes (for ``list_changed``) while serving."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.changes.run)
            self._asking.task_group = tg  # the calls of clients a source may ask (gateway/asking.py)
            try:
                yield
            finally:
                self._asking.task_group = None
                tg.cancel_scope.cancel()

    async def _caller(self) -> Caller:
        if self._ready is not None:
            await self._ready.wait()
        return self.caller()

    def caller(self) -> Caller:
        """Who is asking: the bearer token of this HTTP request, else the gateway's own caller."""
        token = get_access_token()
        if token is not None:
            claims = token.claims or {}
            sources = claims.get("sources")
            return Caller(
                Actor("gateway", token.client_id),
                frozenset(cast(list[str], sources)) if isinstance(sources, list) else None,
                bool(claims.get("tool_search", False)),
            )
        if self._default_caller is None:
            raise MCPError(types.INVALID_REQUEST, "this gateway needs a bearer token")
        return self._default_caller

    # -- tools ---------------------------------------------------------------------------

    async def _list_tools(self, ctx: Context, params: types.PaginatedRequestParams) -> HandlerResult:
        caller = await self._caller()
        if caller.uses_tool_search:
            return {"tools": search.META_TOOLS, "resultType": "complete"}
        return {"tools": await self.catalog.tools(caller), "resultType": "complete"}

    async def _call_tool(self, ctx: Context, params: types.CallToolRequestParams) -> HandlerResult:
        caller = await self._caller()
        if params.request_state is not None:  # the answer to a source's question (gateway/asking.py)?
            resumed = await self._asking.resume(ctx, params)
            if resumed is not None:
                return resumed
        name, arguments = params.name, dict(params.arguments or {})
        if caller.uses_tool_search and name == search.SEARCH_TOOL:
            return await self._search(caller, arguments)
        if caller.uses_tool_search and name == search.CALL_TOOL:
            inner_name, inner_arguments = arguments.get("name"), arguments.get("arguments", {})
            if not isinstance(inner_name, str) or not isinstance(inner_arguments, dict):
                return error_result(
                    "call_tool takes a tool name (string) and its arguments (object)",
                    code="invalid_arguments",
                )
            name, arguments = inner_name, cast(dict[str, JSON], inner_arguments)
        try:
            tool = await self.catalog.find_tool(caller, name)
        except TetherError as error:
            return refusal(error)
        waiting = WaitingNotice(ctx.session, timeout_s=self.host.approval_timeout_s)
        approvers: list[Approver] = [waiting]
        if _can_elicit(ctx):
            if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
                verdict = self._input.answer(params)
                if verdict is None:
                    decision = await self.host.decide(tool, arguments)
                    if decision.effect is Effect.ASK:
                        return self._input.ask(tool, arguments, decision)
                else:
                    approvers = [AnsweredApprover(verdict, f"{caller.actor}/input-required")]
            else:
                approvers = [
                    ElicitingApprover(
                        ctx.session, ctx.request_id, f"{caller.actor}/elicitation", fallback=waiting
                    )
                ]

        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS and self._asking.can_run(ctx):
            return await self._call_asked(ctx, caller, tool, arguments, approvers)

        # The source of the call may ask this client (gateway/peer.py): one object, no await.
        peer = ClientPeer(ctx, self._log_levels, self.host, caller.actor, tool.name)
        return await self._call_host(caller, tool, arguments, approvers, peer, lambda: ctx)

    async def _call_asked(
        self,
        ctx: Context,
        caller: Caller,
        tool: HostedTool,
        arguments: dict[str, JSON],
        approvers: list[Approver],
    ) -> HandlerResult:
        """A 2026-07-28 client that may be asked by the source: the call runs in the background
        and the client answers the source's questions with input_required rounds."""

        async def run(peer: ClientPeer, current: Callable[[], Context]) -> HandlerResult:
            return await self._call_host(caller, tool, arguments, approvers, peer, current)

        return await self._asking.start(ctx, (self._log_levels, self.host, caller.actor, tool.name), run)

    async def _call_host(
        self,
        caller: Caller,
        tool: HostedTool,
        arguments: dict[str, JSON],
        approvers: list[Approver],
        peer: ClientPeer,
        current: Callable[[], Context],
    ) -> HandlerResult:
        """``Host.call_tool`` with the call's progress going to, and the source's questions
        reaching, the client of ``current()`` (the request that now answers for the call)."""

        async def forward_progress(progress: float, total: float | None, message: str | None) -> None:
            await current().session.report_progress(progress, total, message)

        reset = call_progress.set(forward_progress)
        reset_peer = call_peer.set(peer)
        try:
            result = await self.host.call_tool(
                caller.actor, tool.qualified_name, arguments, approvers=approvers
            )
        except TetherError as error:
            return refusal(error, source=tool.source)
        finally:
            call_peer.reset(reset_peer)
            call_progress.reset(reset)
        return wire_result(result)

    async def _search(self, caller: Caller, arguments: Mapping[str, JSON]) -> HandlerResult:
        query, limit = arguments.get("query", ""), arguments.get("limit", search.DEFAULT_LIMIT)
        if not isinstance(query, str) or not isinstance(limit, int):
            return error_result(
                "search_tools takes a query (string) and a limit (integer)", code="invalid_arguments"
            )
        effects = await self.host.store.all_effects()
        visible = [
            tool
            for tool in await self.catalog.hosted_tools(caller)
            if effects.get((tool.source, tool.name)) is not Effect.BLOCK
        ]
        found = [
            {
                "name": tool.qualified_name,
                "description": tool.definition.description,
                "inputSchema": dict(tool.definition.input_schema),
            }
            for tool in search.rank(visible, query, limit)
        ]
        return {
            "content": [{"type": "text", "text": _json(found)}],
            "structuredContent": {"tools": found},
            "isError": False,
            "resultType": "complete",
        }

    # -- prompts and resources -----------------------------------------------------------

    async def _list_prompts(self, ctx: Context, params: types.PaginatedRequestParams) -> HandlerResult:
        return {"prompts": await self.catalog.prompts(await self._caller()), "resultType": "complete"}

    async def _get_prompt(self, ctx: Context, params: types.GetPromptRequestParams) -> HandlerResult:
        try:
            source_name, prompt = await self.catalog.find_prompt(await self._caller(), params.name)
            reader = self._reader(source_name, "prompts")
            return {"resultType": "complete", **(await reader.get_prompt(prompt, params.arguments or {}))}
        except TetherError as error:
            raise _protocol_error(error) from None

    async def _list_resources(self, ctx: Context, params: types.PaginatedRequestParams) -> HandlerResult:
        return {"resources": await self.catalog.resources(await self._caller()), "resultType": "complete"}

    async def _list_templates(self, ctx: Context, params: types.PaginatedRequestParams) -> HandlerResult:
        templates = await self.catalog.templates(await self._caller())
        return {"resourceTemplates": templates, "resultType": "complete"}

    async def _read_resource(self, ctx: Context, params: types.ReadResourceRequestParams) -> HandlerResult:
        try:
            source_name, uri = await self.catalog.find_resource(await self._caller(), params.uri)
            reader = self._reader(source_name, "resources")
            result = {"resultType": "complete", **(await reader.read_resource(uri))}
        except TetherError as error:
            raise _protocol_error(error) from None
        if split_gateway_uri(params.uri) is not None:
            # Answer under the URI the client asked for, as it listed it.
            contents = cast(list[dict[str, Any]], result.get("contents", []))
            result["contents"] = [{**c, "uri": params.uri} if c.get("uri") == uri else c for c in contents]
        return result

    def _reader(self, source_name: str, what: str) -> ContentReader:
        source = self.host.source(source_name)
        if not isinstance(source, ContentReader):
            raise MCPError(types.INVALID_PARAMS, f"source '{source_name}' cannot serve {what} through tether")
        return source

    async def _complete(self, ctx: Context, params: types.CompleteRequestParams) -> HandlerResult:
        return {
            "completion": {"values": [], "hasMore": False},
            "resultType": "complete",
        }  # no suggestions: the sources are not asked

    async def _set_level(self, ctx: Context, params: types.SetLevelRequestParams) -> HandlerResult:
        self._log_levels.set(ctx.session, params.level)  # for the sources' log messages it passes on
        return {}


def _can_elicit(ctx: Context) -> bool:
    capabilities = ctx.session.client_capabilities
    if capabilities is None or capabilities.elicitation is None:
        return False
    return ctx.protocol_version in MODERN_PROTOCOL_VERSIONS or ctx.session.can_send_request


def _protocol_error(error: TetherError) -> MCPError:
    code = types.INVALID_PARAMS if error.code.startswith("unknown_") else types.INTERNAL_ERROR
    return MCPError(code, f"{error.message} [{error.code}]")


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
