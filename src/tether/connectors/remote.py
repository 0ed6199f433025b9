"""The source for a remote connector: an MCP server at a URL, kept connected and signed in.

``RemoteSource.run`` connects (Streamable HTTP, legacy SSE as fallback), follows
``list_changed``, reconnects with backoff when the server goes away, waits for a sign-in
when the connector needs one, and gives up only on errors a retry cannot fix (not an MCP
server, an authorization server breaking tether's rules). ``call_tool`` re-opens a session
the server dropped (HTTP 404) and retries the call once, transparently.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from typing import TypeVar

import anyio
import anyio.abc
from mcp import Client, MCPError, types
from mcp.client.session import IncomingMessage
from mcp.types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, ValidationError

from tether.connectors.headers import resolve_headers
from tether.connectors.oauth import ConnectorAuth, NeedsMorePermission
from tether.connectors.transport import ConnectMode, HttpObserver, HttpSetup, Session, classify, open_session
from tether.connectors.vault import ConnectorVault
from tether.core.tools import call_progress
from tether.errors import (
    AuthError,
    AuthServerUnavailable,
    NeedsSignIn,
    NotAnMcpServer,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
    TetherError,
    UsageError,
)
from tether.types import (
    JSON,
    JSONObject,
    PromptDef,
    ResourceDef,
    ResourceTemplateDef,
    SourceConfig,
    SourceKind,
    SourceState,
    SourceStatus,
    ToolDef,
    ToolResult,
)
from tether.wire.catalog import ALL_LISTS, Catalog, ListKind, keep_listening, list_catalog
from tether.wire.convert import to_tool_result
from tether.wire.peers import SourcePeers
from tether.wire.subscriptions import OnUpdated, ResourceWatch

__all__ = ["OnChange", "RemoteSource"]

logger = logging.getLogger(__name__)

_R = TypeVar("_R")

OnChange = Callable[[str], Awaitable[None]]
"""Called with the source's name when its tools, prompts or resources changed."""


class _Live:
    """One connected session and what the source learned about it."""

    def __init__(self, session: Session, observer: HttpObserver) -> None:
        self.session = session
        self.observer = observer
        self.lost = anyio.Event()
        self.ending: TetherError | None = None
        self.stale: set[ListKind] = set()
        self.stale_changed = anyio.Event()

    def lose(self, ending: TetherError) -> None:
        if self.ending is None:
            self.ending = ending
        self.lost.set()

    async def on_message(self, message: IncomingMessage) -> None:
        kinds: dict[type, ListKind] = {
            types.ToolListChangedNotification: "tools",
            types.PromptListChangedNotification: "prompts",
            types.ResourceListChangedNotification: "resources",
        }
        kind = kinds.get(type(message))
        if kind is not None:
            self.stale.add(kind)
            self.stale_changed.set()

    async def wait_stale(self) -> frozenset[ListKind]:
        while not self.stale:
            await self.stale_changed.wait()
            self.stale_changed = anyio.Event()
        stale = frozenset(self.stale)
        self.stale.clear()
        return stale


class RemoteSource:
    """A ``ToolSource`` for an MCP server reached over HTTP."""

    def __init__(
        self,
        config: SourceConfig,
        *,
        vault: ConnectorVault,
        auth: ConnectorAuth | None = None,
        mode: ConnectMode = "auto",
        connect_timeout_s: float = 30.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 60.0,
        sign_in_poll_s: float = 5.0,
        on_change: OnChange | None = None,
    ) -> None:
        if config.kind not in (SourceKind.HTTP, SourceKind.SSE) or not config.url:
            raise UsageError(f"source '{config.name}' is not a connector: it needs an http(s) URL")
        self.config = config
        self.vault = vault
        self.auth = auth
        self.mode: ConnectMode = mode
        self.connect_timeout_s = connect_timeout_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.sign_in_poll_s = sign_in_poll_s
        self.on_change = on_change
        self.last_error: TetherError | None = None
        """Why the connector is not connected (its ``.code`` is what interfaces show), or None."""
        self._state = SourceState.STOPPED
        self._detail = ""
        self._restarts = 0
        self._state_changed = anyio.Event()
        self._wake = anyio.Event()
        self._catalog = Catalog()
        self._has_listed = False
        self._peers = SourcePeers(config.name)
        self._watch = ResourceWatch(config.name)
        self._live: _Live | None = None
        self._run_scope: anyio.CancelScope | None = None
        self._is_closed = False
        self._finished = anyio.Event()

    # -- what the host reads -------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def url(self) -> str:
        return self.config.url or ""

    @property
    def status(self) -> SourceStatus:
        return SourceStatus(self._state, self._detail, self._restarts)

    @property
    def protocol_version(self) -> str | None:
        live = self._live
        return live.session.client.protocol_version if live is not None else None

    @property
    def transport(self) -> str | None:
        """``streamable-http`` or ``sse`` while connected."""
        live = self._live
        return live.session.transport if live is not None else None

    async def wait_state(self, *states: SourceState) -> SourceStatus:
        """Wait until the state is one of ``states``; bound it with ``anyio.fail_after``."""
        while self._state not in states:
            await self._state_changed.wait()
        return self.status

    async def list_tools(self) -> Sequence[ToolDef]:
        return self._catalog.tools

    async def list_prompts(self) -> Sequence[PromptDef]:
        return self._catalog.prompts

    async def list_resources(self) -> Sequence[ResourceDef]:
        return self._catalog.resources

    async def list_resource_templates(self) -> Sequence[ResourceTemplateDef]:
        return self._catalog.templates

    def reconnect(self) -> None:
        """Try again now (after a sign-in, or to leave a backoff wait early)."""
        self._wake.set()

    # -- calls ---------------------------------------------------------------------------

    async def call_tool(self, name: str, arguments: Mapping[str, JSON]) -> ToolResult:
        timeout_s = self.config.call_timeout_s
        progress = call_progress.get()

        async def call(client: Client) -> types.CallToolResult:
            return await client.call_tool(name, dict(arguments), progress_callback=progress)

        asking = self._peers.begin()
        try:
            with anyio.fail_after(timeout_s) as timeout:
                if asking is not None:
                    asking.timeout = timeout
                result = await self._request(call, f"the call to '{name}'", may_retry=True)
        except TimeoutError:
            raise SourceTimeout(
                f"connector '{self.name}' did not answer '{name}' within {timeout_s:g} s"
            ) from None
        except MCPError as error:
            return ToolResult.error(
                f"connector '{self.name}' answered an error for '{name}': {error.message}"
            )
        except (ValidationError, RuntimeError) as error:
            raise SourceError(
                f"connector '{self.name}' sent a result for '{name}' tether cannot read: {error}"
            ) from None
        finally:
            self._peers.end(asking)
        return to_tool_result(result)

    async def get_prompt(self, name: str, arguments: Mapping[str, str]) -> JSONObject:
        """Render prompt ``name`` (``ContentReader``); the MCP result as JSON."""

        async def get(client: Client) -> types.GetPromptResult:
            return await client.get_prompt(name, dict(arguments))

        return await self._read(get, f"prompt '{name}'", "render")

    async def read_resource(self, uri: str) -> JSONObject:
        """Read resource ``uri`` (``ContentReader``); the MCP result as JSON."""

        async def read(client: Client) -> types.ReadResourceResult:
            return await client.read_resource(uri)

        return await self._read(read, f"resource '{uri}'", "read")

    async def subscribe_resource(self, uri: str, on_updated: OnUpdated) -> None:
        """Hear when resource ``uri`` changes (``ResourceWatcher``), also after reconnecting."""
        live = self._live
        await self._watch.add(live.session.client if live is not None else None, uri, on_updated)

    async def unsubscribe_resource(self, uri: str, on_updated: OnUpdated) -> None:
        live = self._live
        await self._watch.remove(live.session.client if live is not None else None, uri, on_updated)

    async def _read(self, send: Callable[[Client], Awaitable[BaseModel]], what: str, verb: str) -> JSONObject:
        timeout_s = self.config.call_timeout_s
        try:
            with anyio.fail_after(timeout_s):
                result = await self._request(send, what, may_retry=True)
        except TimeoutError:
            raise SourceTimeout(
                f"connector '{self.name}' did not {verb} {what} within {timeout_s:g} s"
            ) from None
        except MCPError as error:
            raise SourceError(f"connector '{self.name}' could not {verb} {what}: {error.message}") from None
        except (ValidationError, RuntimeError) as error:
            raise SourceError(f"connector '{self.name}' sent {what} tether cannot read: {error}") from None
        return result.model_dump(by_alias=True, exclude_none=True, mode="json")

    async def _request(self, send: Callable[[Client], Awaitable[_R]], what: str, *, may_retry: bool) -> _R:
        """``send`` on the live session; reopen a session the server dropped (HTTP 404) and retry once.

        An MCP error the server answered is raised as is; a lost connection or a refused sign-in
        is raised as the TetherError that says so.
        """
        live = self._live
        if live is None:
            is_reconnecting = self._state in (SourceState.STARTING, SourceState.RESTARTING)
            if may_retry and is_reconnecting and self.last_error is None:
                await self.wait_state(
                    SourceState.RUNNING, SourceState.NEEDS_SIGN_IN, SourceState.FAILED, SourceState.STOPPED
                )
                return await self._request(send, what, may_retry=False)
            raise self._why_not_connected()
        try:
            return await send(live.session.client)
        except MCPError as error:
            refusal = self.auth.take_error() if self.auth else None
            if refusal is not None:
                if not isinstance(refusal, NeedsMorePermission):
                    live.lose(refusal)
                raise refusal from None
            if live.observer.session_lost and may_retry:
                live.observer.session_lost = False
                live.lose(_SessionEnded(f"connector '{self.name}': the server ended the session"))
                await self._wait_for_new(live)
                return await self._request(send, what, may_retry=False)
            if error.code == types.CONNECTION_CLOSED:
                live.lose(SourceUnavailable(f"connector '{self.name}' lost its connection"))
                raise SourceUnavailable(
                    f"connector '{self.name}' lost its connection during {what}; reconnecting"
                ) from None
            raise

    async def _wait_for_new(self, old: _Live) -> None:
        while self._live is old or (self._live is None and self._state is not SourceState.FAILED):
            if self._state in (SourceState.NEEDS_SIGN_IN, SourceState.STOPPED, SourceState.FAILED):
                return
            await self._state_changed.wait()

    def _why_not_connected(self) -> TetherError:
        if self.last_error is not None:
            return self.last_error
        return SourceUnavailable(
            f"connector '{self.name}' is not connected ({self._state.value}): {self._detail}"
        )

    # -- supervision ---------------------------------------------------------------------

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Connect and stay connected until ``close``; see ``ToolSource.run``."""
        reported = False

        def report_started() -> None:
            nonlocal reported
            if not reported:
                reported = True
                task_status.started()

        if self._run_scope is not None and not self._finished.is_set():
            raise RuntimeError(f"connector '{self.name}' is running already")
        if self._is_closed:
            report_started()
            return
        self._run_scope, self._finished = anyio.CancelScope(), anyio.Event()
        try:
            with self._run_scope:
                await self._supervise(report_started)
        finally:
            self._live = None
            if self._state is not SourceState.FAILED:
                self._set_state(SourceState.STOPPED, "closed" if self._is_closed else self._detail)
            self._finished.set()
            report_started()

    async def close(self) -> None:
        self._is_closed = True
        if self._run_scope is not None:
            self._run_scope.cancel()
            await self._finished.wait()

    async def _supervise(self, report_started: Callable[[], None]) -> None:
        delay_s = self.backoff_initial_s
        attempt = 0
        while True:
            ending, was_running = await self._run_once(report_started, attempt)
            attempt += 1
            report_started()
            self.last_error = None if isinstance(ending, _SessionEnded) else ending
            if isinstance(ending, NeedsSignIn):
                self._set_state(SourceState.NEEDS_SIGN_IN, str(ending))
                await self._wait_for_sign_in()
                delay_s = self.backoff_initial_s
                continue
            if _is_permanent(ending):
                self._set_state(SourceState.FAILED, str(ending))
                return
            if was_running:
                delay_s = self.backoff_initial_s
                if isinstance(ending, _SessionEnded):
                    continue  # the server forgot the session: open a new one at once
            self._restarts += 1
            self._set_state(SourceState.RESTARTING, f"error: {ending}; retrying in {delay_s:g} s")
            with anyio.move_on_after(delay_s):
                await self._wake.wait()
            self._wake = anyio.Event()
            delay_s = min(delay_s * 2, self.backoff_max_s)

    async def _run_once(self, report_started: Callable[[], None], attempt: int) -> tuple[TetherError, bool]:
        """Connect, serve until the connection is lost; say why it ended and whether it had worked."""
        self._set_state(
            SourceState.STARTING if attempt == 0 else SourceState.RESTARTING,
            f"connecting to {self.url}",
        )
        static = self.vault.load_headers()
        helper = [self.config.command, *self.config.args] if self.config.command else []
        observer = HttpObserver(self.url, {})
        scope = anyio.CancelScope(deadline=anyio.current_time() + self.connect_timeout_s)
        live: _Live | None = None
        try:
            observer.headers = await resolve_headers(static, helper, connector=self.name)
            uses_oauth = self.auth is not None and not any(
                k.lower() == "authorization" for k in observer.headers
            )
            setup = HttpSetup(self.url, observer, self.auth if uses_oauth else None, self.connect_timeout_s)
            if self.auth is not None:
                self.auth.take_error()
            with scope:
                async with AsyncExitStack() as stack:
                    holder: list[_Live] = []

                    async def on_message(message: IncomingMessage) -> None:
                        if holder:
                            await holder[0].on_message(message)
                        await self._watch.on_message(message)

                    session = await open_session(
                        stack,
                        setup,
                        kind=self.config.kind,
                        mode=self.mode,
                        message_handler=on_message,
                        peers=self._peers,
                    )
                    live = _Live(session, observer)
                    holder.append(live)
                    catalog = await list_catalog(session.client, ALL_LISTS, self._catalog)
                    scope.deadline = math.inf
                    await self._serve(live, catalog, report_started)
        except Exception as error:
            if live is not None and live.ending is not None:
                return live.ending, True
            refusal = self.auth.take_error() if self.auth else None
            if refusal is None and scope.cancel_called and live is None:
                return self._connect_timeout(), False
            ending = refusal or classify(error, connector=self.name, url=self.url, observer=observer)
            return ending, live is not None
        finally:
            self._live = None
        if live is not None and live.ending is not None:
            return live.ending, True
        if scope.cancelled_caught:
            return self._connect_timeout(), False
        return SourceUnavailable(f"connector '{self.name}': the connection closed"), live is not None

    def _connect_timeout(self) -> TetherError:
        return SourceTimeout(
            f"connector '{self.name}': {self.url} did not finish connecting "
            f"within {self.connect_timeout_s:g} s"
        )

    async def _serve(self, live: _Live, catalog: Catalog, report_started: Callable[[], None]) -> None:
        changed = self._has_listed and catalog != self._catalog
        self._catalog, self._has_listed = catalog, True
        self._live = live
        client = live.session.client
        self.last_error = None
        async with anyio.create_task_group() as watchers:
            watchers.start_soon(self._follow_changes, live, changed)
            with anyio.move_on_after(self.connect_timeout_s):
                await watchers.start(self._watch.keep, client)  # watched resources: no update missed
            if client.protocol_version in MODERN_PROTOCOL_VERSIONS:
                with anyio.move_on_after(self.connect_timeout_s):
                    await watchers.start(keep_listening, client)  # no change is missed from here on
            how = f"{live.session.transport}, MCP {client.protocol_version}"
            self._set_state(SourceState.RUNNING, f"connected ({how})")
            report_started()

            async def watch_transport() -> None:
                await live.session.ended.wait()
                live.lose(SourceUnavailable(f"connector '{self.name}': the connection closed"))

            watchers.start_soon(watch_transport)
            await live.lost.wait()
            self._live = None
            watchers.cancel_scope.cancel()

    async def _follow_changes(self, live: _Live, changed: bool) -> None:
        if changed:
            await self._announce_change()
        while True:
            stale = await live.wait_stale()
            try:
                with anyio.fail_after(self.connect_timeout_s):
                    catalog = await list_catalog(live.session.client, stale, self._catalog)
            except (MCPError, ValidationError, TimeoutError) as error:
                logger.info("connector '%s' could not re-list %s: %s", self.name, sorted(stale), error)
                continue
            if catalog != self._catalog:
                self._catalog = catalog
                await self._announce_change()

    async def _announce_change(self) -> None:
        if self.on_change is None:
            return
        try:
            await self.on_change(self.name)
        except Exception:
            logger.exception("on_change for connector '%s' failed", self.name)

    async def _wait_for_sign_in(self) -> None:
        """Return when another process (or this one) stored a new sign-in, or on ``reconnect``."""
        seen = self.vault.grant_fingerprint()
        while True:
            with anyio.move_on_after(self.sign_in_poll_s):
                await self._wake.wait()
            if self._wake.is_set() or self.vault.grant_fingerprint() != seen:
                self._wake = anyio.Event()
                if self.auth is not None:
                    self.auth.forget_loaded()
                return

    def _set_state(self, state: SourceState, detail: str) -> None:
        self._state, self._detail = state, detail
        self._state_changed.set()
        self._state_changed = anyio.Event()


class _SessionEnded(SourceUnavailable):
    """The server answered 404 for the session: open a new one without waiting."""


def _is_permanent(error: TetherError) -> bool:
    """Errors a retry cannot fix: the user must change something first."""
    if isinstance(error, AuthServerUnavailable):
        return False
    return isinstance(error, NotAnMcpServer | AuthError | UsageError)
