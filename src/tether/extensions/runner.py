"""The source for a local command: starts an MCP server over stdio and keeps it running.

``StdioSource.run`` supervises the process (restart with backoff, give up after repeated
failed starts), follows ``list_changed`` and keeps the catalog; ``call_tool`` forwards to
the live session with a timeout that kills a hung server. Every task lives in ``run``'s
task groups; nothing is left running after ``close``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

import anyio
import anyio.abc
from mcp import Client, MCPError, types
from mcp.types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from tether.core.tools import call_progress
from tether.errors import SourceError, SourceTimeout, SourceUnavailable, UsageError
from tether.extensions.connection import (
    ALL_LISTS,
    Catalog,
    Connection,
    ConnectMode,
    keep_listening,
    list_catalog,
)
from tether.extensions.endings import Ending, ending_after_error, ending_after_exit, is_expected
from tether.extensions.stderr_log import StderrLog
from tether.sandbox import Launcher, LaunchSpec, PlainLauncher
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
from tether.wire.convert import to_tool_result
from tether.wire.peers import SourcePeers
from tether.wire.subscriptions import OnUpdated, ResourceWatch

__all__ = ["ConnectMode", "OnChange", "StdioSource"]

logger = logging.getLogger(__name__)

OnChange = Callable[[str], Awaitable[None]]
"""Called with the source's name when its tools, prompts or resources changed."""


class StdioSource:
    """A ``ToolSource`` for a local MCP server started from a command."""

    def __init__(
        self,
        config: SourceConfig,
        *,
        log_dir: Path,
        launcher: Launcher | None = None,
        mode: ConnectMode = "auto",
        start_timeout_s: float = 15.0,
        max_start_failures: int = 5,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        on_change: OnChange | None = None,
    ) -> None:
        if config.kind is not SourceKind.STDIO or not config.command:
            raise UsageError(f"source '{config.name}' is not a local command: it needs a command to run")
        self.config = config
        self.launcher: Launcher = launcher or PlainLauncher()
        self.mode: ConnectMode = mode
        self.start_timeout_s = start_timeout_s
        self.max_start_failures = max(max_start_failures, 1)
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.on_change = on_change
        self._log = StderrLog(Path(log_dir) / f"{config.name}.log")
        self._state = SourceState.STOPPED
        self._detail = ""
        self._restarts = 0
        self._state_changed = anyio.Event()
        self._catalog = Catalog()
        self._has_listed = False
        self._peers = SourcePeers(config.name)
        self._watch = ResourceWatch(config.name)
        self._live: Connection | None = None
        self._run_scope: anyio.CancelScope | None = None
        self._is_closed = False
        self._finished = anyio.Event()

    # -- what the host reads -------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def status(self) -> SourceStatus:
        return SourceStatus(self._state, self._detail, self._restarts, self._log.tail)

    @property
    def log_path(self) -> Path:
        return self._log.path

    @property
    def protocol_version(self) -> str | None:
        """The MCP version the running server speaks, or None while it is not running."""
        live = self._live
        return live.client.protocol_version if live is not None and live.client is not None else None

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

    async def get_prompt(self, name: str, arguments: Mapping[str, str]) -> JSONObject:
        """Render prompt ``name`` (``ContentReader``); the MCP result as JSON."""
        client = self._client_for(f"prompt '{name}'")
        with anyio.fail_after(self.config.call_timeout_s):
            try:
                result = await client.get_prompt(name, dict(arguments))
            except MCPError as error:
                raise SourceError(
                    f"source '{self.name}' could not render prompt '{name}': {error.message}"
                ) from None
        return result.model_dump(by_alias=True, exclude_none=True, mode="json")

    async def read_resource(self, uri: str) -> JSONObject:
        """Read resource ``uri`` (``ContentReader``); the MCP result as JSON."""
        client = self._client_for(f"resource '{uri}'")
        with anyio.fail_after(self.config.call_timeout_s):
            try:
                result = await client.read_resource(uri)
            except MCPError as error:
                raise SourceError(
                    f"source '{self.name}' could not read resource '{uri}': {error.message}"
                ) from None
        return result.model_dump(by_alias=True, exclude_none=True, mode="json")

    async def subscribe_resource(self, uri: str, on_updated: OnUpdated) -> None:
        """Hear when resource ``uri`` changes (``ResourceWatcher``), on this run and after restarts."""
        live = self._live
        await self._watch.add(live.client if live is not None else None, uri, on_updated)

    async def unsubscribe_resource(self, uri: str, on_updated: OnUpdated) -> None:
        live = self._live
        await self._watch.remove(live.client if live is not None else None, uri, on_updated)

    def _client_for(self, what: str) -> Client:
        live = self._live
        if live is None or live.client is None:
            raise SourceUnavailable(
                f"source '{self.name}' is not running ({self._state.value}) to serve {what}: {self._detail}"
            )
        return live.client

    # -- calls ---------------------------------------------------------------------------

    async def call_tool(self, name: str, arguments: Mapping[str, JSON]) -> ToolResult:
        live = self._live
        if live is None or live.client is None:
            raise SourceUnavailable(
                f"source '{self.name}' is not running ({self._state.value}): {self._detail}"
            )
        timeout_s = self.config.call_timeout_s
        result: types.CallToolResult | None = None
        asking = self._peers.begin()
        try:
            with anyio.move_on_after(timeout_s) as timeout:
                if asking is not None:
                    asking.timeout = timeout
                result = await live.client.call_tool(
                    name, dict(arguments), progress_callback=call_progress.get()
                )
        except MCPError as error:
            if error.code != types.CONNECTION_CLOSED:
                return ToolResult.error(error.message)
            self._lose(live, f"stopped during a call to '{name}'")
            if self._is_closed:
                raise SourceUnavailable(f"source '{self.name}' closed during the call to '{name}'") from None
            raise SourceUnavailable(
                f"source '{self.name}' stopped during the call to '{name}'; tether is restarting it "
                f"(see `tether source logs {self.name}`)"
            ) from None
        except (ValidationError, RuntimeError) as error:
            if live is not self._live:
                raise SourceUnavailable(f"source '{self.name}' stopped during the call to '{name}'") from None
            raise SourceError(
                f"source '{self.name}' sent a result for '{name}' tether cannot read: {error}"
            ) from None
        finally:
            self._peers.end(asking)
        if result is None:
            reason = f"a call to '{name}' took longer than {timeout_s:g} s"
            self._lose(live, reason)
            live.kill(reason)
            raise SourceTimeout(
                f"source '{self.name}' did not answer '{name}' within {timeout_s:g} s; "
                "tether stopped the server and is starting it again"
            )
        return to_tool_result(result)

    # -- supervision ---------------------------------------------------------------------

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start the server and keep it running until ``close``; see ``ToolSource.run``.

        Returns when closed or when it gave up (state FAILED); calling it again then starts over.
        """
        reported = False

        def report_started() -> None:
            nonlocal reported
            if not reported:
                reported = True
                task_status.started()

        if self._run_scope is not None and not self._finished.is_set():
            raise RuntimeError(f"source '{self.name}' is running already")
        if self._is_closed:
            report_started()
            return
        if self._run_scope is not None:
            self._restarts += 1  # run again after it gave up
        self._run_scope, self._finished = anyio.CancelScope(), anyio.Event()
        try:
            with self._run_scope:
                try:
                    self._log.open()
                except OSError as error:
                    self._set_state(SourceState.FAILED, f"cannot write to {self._log.path}: {error.strerror}")
                    return
                await self._supervise(report_started)
        finally:
            self._live = None
            if self._state is not SourceState.FAILED:
                self._set_state(SourceState.STOPPED, "closed" if self._is_closed else "")
            self._log.close()
            self._finished.set()
            report_started()

    async def close(self) -> None:
        """Stop the server for good; ``run`` returns once it is gone."""
        self._is_closed = True
        if self._run_scope is not None:
            self._run_scope.cancel()
            await self._finished.wait()

    async def _supervise(self, report_started: Callable[[], None]) -> None:
        failed_starts = 0
        delay_s = self.backoff_initial_s
        while True:
            ending = await self._run_once(report_started)
            report_started()
            self._log.note(ending.reason)
            if ending.is_permanent:
                self._set_state(SourceState.FAILED, f"{ending.reason}, then restart the source")
                return
            if ending.was_running:
                failed_starts = 0
                if ending.uptime_s >= self.backoff_max_s:
                    delay_s = self.backoff_initial_s
            else:
                failed_starts += 1
                if failed_starts >= self.max_start_failures:
                    times = "" if failed_starts == 1 else f", {failed_starts} times in a row"
                    self._set_state(
                        SourceState.FAILED,
                        f"{ending.reason}{times} (see `tether source logs {self.name}`); "
                        "fix the server or its settings, then restart the source",
                    )
                    return
            self._restarts += 1
            self._set_state(SourceState.RESTARTING, f"{ending.reason}; restarting in {delay_s:g} s")
            self._log.note(f"restarting in {delay_s:g} s")
            await anyio.sleep(delay_s)
            delay_s = min(delay_s * 2, self.backoff_max_s)

    async def _run_once(self, report_started: Callable[[], None]) -> Ending:
        """Start the server, serve until it exits or is killed, and say how it ended."""
        config = self.config
        spec = self.launcher.prepare(
            LaunchSpec(command=config.command or "", args=config.args, env=config.env, cwd=config.cwd)
        )
        self._set_state(
            SourceState.STARTING if self._restarts == 0 else SourceState.RESTARTING,
            f"starting `{spec.command}`",
        )
        self._log.note(f"starting `{spec.command}`")
        live = Connection(
            self._log, start_timeout_s=self.start_timeout_s, peers=self._peers, watch=self._watch
        )
        started_at = anyio.current_time()
        async with self._log.capture() as errlog:
            try:
                with live.scope:
                    async with live.open_client(spec, errlog, mode=self.mode) as client:
                        errlog.close()  # the child has its copy: the pipe's end now means it is gone
                        await self._serve(live, client, report_started)
            except Exception as error:
                if not is_expected(error):
                    logger.warning("source '%s' stopped on an unexpected error", self.name, exc_info=error)
                return ending_after_error(live, spec, error, uptime_s=anyio.current_time() - started_at)
        uptime_s = anyio.current_time() - started_at
        return ending_after_exit(live, start_timeout_s=self.start_timeout_s, uptime_s=uptime_s)

    async def _serve(self, live: Connection, client: Client, report_started: Callable[[], None]) -> None:
        catalog = await list_catalog(client, ALL_LISTS, self._catalog)
        live.mark_running(client)
        changed = self._has_listed and catalog != self._catalog
        self._catalog, self._has_listed = catalog, True
        self._live = live
        async with anyio.create_task_group() as watchers:
            with anyio.move_on_after(self.start_timeout_s):
                await watchers.start(self._watch.keep, client)  # watched resources: no update missed
            self._set_state(SourceState.RUNNING, f"running (MCP {client.protocol_version})")
            self._log.note(f"running (MCP {client.protocol_version})")
            report_started()
            watchers.start_soon(self._follow_changes, live, client, changed)
            if client.protocol_version in MODERN_PROTOCOL_VERSIONS:
                watchers.start_soon(keep_listening, client)
            await live.stdout_closed.wait()
            self._lose(live, "exited")
            watchers.cancel_scope.cancel()

    async def _follow_changes(self, live: Connection, client: Client, changed: bool) -> None:
        if changed:
            await self._announce_change()
        while True:
            stale = await live.wait_stale()
            try:
                with anyio.fail_after(self.start_timeout_s):
                    catalog = await list_catalog(client, stale, self._catalog)
            except (MCPError, ValidationError, TimeoutError) as error:
                self._log.note(f"could not list its changed {', '.join(sorted(stale))}: {error}")
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
            logger.exception("on_change for source '%s' failed", self.name)

    def _lose(self, live: Connection, reason: str) -> None:
        """Stop routing calls to ``live``; the supervisor notices the exit and restarts."""
        if self._live is live:
            self._live = None
            if not self._is_closed:
                self._set_state(SourceState.RESTARTING, f"{reason}; restarting")

    def _set_state(self, state: SourceState, detail: str) -> None:
        self._state, self._detail = state, detail
        self._state_changed.set()
        self._state_changed = anyio.Event()
