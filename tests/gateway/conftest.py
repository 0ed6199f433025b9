"""The gateway under test: in-process over fakes, and helpers to wait on the host's activity."""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from tests.fakes import FakeSource, MemoryStore, text_result
from tether.core.host import DEFAULT_APPROVAL_TIMEOUT_S, Host
from tether.core.tools import ToolSource, call_progress
from tether.errors import SourceUnavailable
from tether.extensions.runner import StdioSource
from tether.gateway.callers import Caller, stdio_caller
from tether.gateway.server import Gateway
from tether.types import (
    JSON,
    ActivityRecord,
    Actor,
    Effect,
    JSONObject,
    PromptDef,
    ResourceDef,
    SourceConfig,
    ToolDef,
    ToolResult,
)

WAIT_S = 20.0


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Module-wide, so a module can share one served gateway between its tests."""
    return "asyncio"


PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
EMPTY = {"type": "object"}


class ContentSource(FakeSource):
    """A fake source with tools for every kind of result, one prompt and one resource."""

    def __init__(self, name: str = "media") -> None:
        self.started = anyio.Event()
        self.release = anyio.Event()

        async def image(arguments: Mapping[str, JSON]) -> ToolResult:
            return ToolResult(
                content=(
                    {"type": "image", "data": PNG_1PX, "mimeType": "image/png"},
                    {"type": "text", "text": "a pixel", "_meta": {"kept": True}},
                )
            )

        async def structured(arguments: Mapping[str, JSON]) -> ToolResult:
            return ToolResult(content=({"type": "text", "text": '{"n": 3}'},), structured={"n": 3})

        async def slow(arguments: Mapping[str, JSON]) -> ToolResult:
            self.started.set()
            await self.release.wait()
            return text_result("released")

        async def broken(arguments: Mapping[str, JSON]) -> ToolResult:
            raise SourceUnavailable("the server behind it stopped")

        async def steps(arguments: Mapping[str, JSON]) -> ToolResult:
            report = call_progress.get()
            for step in (1, 2):
                if report is not None:
                    await report(step, 2, f"step {step}")
            return text_result("done")

        super().__init__(
            name,
            {
                "image": (ToolDef("image", "Return a one-pixel image."), image),
                "structured": (ToolDef("structured", "Return structured content."), structured),
                "slow": (ToolDef("slow", "Wait until released."), slow),
                "broken": (ToolDef("broken", "Always fails."), broken),
                "steps": (ToolDef("steps", "Report progress twice."), steps),
            },
        )

    async def list_prompts(self) -> Sequence[PromptDef]:
        return [PromptDef("greet", "Greet someone.", ({"name": "name", "required": True},))]

    async def list_resources(self) -> Sequence[ResourceDef]:
        return [ResourceDef("memo://note", "note", "A short note.", "text/plain")]

    async def get_prompt(self, name: str, arguments: Mapping[str, str]) -> JSONObject:
        text = f"Hello {arguments.get('name', '')}"
        return {"messages": [{"role": "user", "content": {"type": "text", "text": text}}]}

    async def read_resource(self, uri: str) -> JSONObject:
        return {"contents": [{"uri": uri, "mimeType": "text/plain", "text": "a note"}]}


@dataclass
class InProcess:
    host: Host
    store: MemoryStore
    gateway: Gateway
    media: ContentSource

    async def activity(self, kind: str = "tool.called") -> list[ActivityRecord]:
        return [r for r in self.store.activity if r.kind == kind]


@asynccontextmanager
async def in_process(
    *, caller: Caller | None = None, approval_timeout_s: float = 10.0
) -> AsyncGenerator[InProcess]:
    store = MemoryStore()
    async with Host(store, approval_timeout_s=approval_timeout_s) as host:
        media = ContentSource()
        await host.add_source(FakeSource.echo("echo"))
        await host.add_source(media)
        gateway = Gateway(host, caller=caller or stdio_caller())
        async with gateway.running():
            yield InProcess(host, store, gateway, media)


async def next_record(events: anyio.abc.ObjectReceiveStream[object], kind: str) -> ActivityRecord:
    """The next activity record of ``kind`` from a ``host.events.subscribe()`` stream."""
    with anyio.fail_after(WAIT_S):
        async for event in events:
            if isinstance(event, ActivityRecord) and event.kind == kind:
                return event
    raise AssertionError("the event stream ended")


ASKING = (sys.executable, str(Path(__file__).resolve().parents[1] / "servers" / "asking_server.py"))


def asking_source(tmp_path: Path, mode: str = "auto") -> StdioSource:
    """tests/servers/asking_server.py as a local source named 'asker'."""
    config = SourceConfig(name="asker", command=ASKING[0], args=ASKING[1:], call_timeout_s=WAIT_S)
    return StdioSource(config, log_dir=tmp_path, mode=mode)  # type: ignore[arg-type]


@asynccontextmanager
async def gateway_over(
    source: ToolSource, *, ask: Sequence[str] = (), approval_timeout_s: float = DEFAULT_APPROVAL_TIMEOUT_S
) -> AsyncGenerator[Gateway]:
    """The in-process gateway over one real source, its tools allowed but those in ``ask``."""
    async with Host(MemoryStore(), approval_timeout_s=approval_timeout_s) as host:
        await host.add_source(source)
        for tool in await host.tools():
            if tool.name not in ask:
                await host.set_policy(Actor("cli", "test"), tool, Effect.ALLOW)
        gateway = Gateway(host, caller=stdio_caller())
        async with gateway.running():
            yield gateway
