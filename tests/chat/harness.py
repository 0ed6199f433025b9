"""The assistant against real parts: an App on a temporary data dir, the echo server over stdio.

``chat_app`` yields a ``Harness``; ``drive`` runs one ``ChatRun`` to its end within a bounded
wait, handing each event to a callback (to approve, deny or cancel at the right moment).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio

from tests.chat.scripted import Script
from tether.app import App, open_app
from tether.chat import events
from tether.chat.assistant import Assistant, ChatOptions, Plan
from tether.chat.models import ModelConfig
from tether.chat.run import ChatRun
from tether.config import Settings
from tether.core.storage import ActivityFilter
from tether.types import ActivityRecord, Actor, Effect, SourceConfig

ECHO = (sys.executable, str(Path(__file__).parents[1] / "servers" / "echo_server.py"))
ME = Actor("test", "me")
WAIT_S = 20.0
OnEvent = Callable[[events.ChatEvent, ChatRun[Plan]], Awaitable[None]]


@dataclass
class Harness:
    app: App
    assistant: Assistant

    async def allow(self, *tools: str) -> None:
        for name in tools:
            await self.app.host.set_policy(ME, await self.app.host.resolve(name), Effect.ALLOW)

    async def calls(self, tool: str | None = None) -> list[ActivityRecord]:
        rows = await self.app.store.records(ActivityFilter(kind="tool.called"))
        return [r for r in rows if tool is None or f"{r.source}__{r.tool}" == tool]


@asynccontextmanager
async def chat_app(
    settings: Settings, script: Script, options: ChatOptions | None = None
) -> AsyncGenerator[Harness]:
    options = options or ChatOptions(model_max_retries=0)
    async with open_app(settings) as app:
        if "echo" not in {c.name for c in await app.store.list_sources()}:
            await app.add_source(ME, SourceConfig(name="echo", command=ECHO[0], args=ECHO[1:]))
        await app.start_sources()
        async with Assistant(
            app.host, app.store, app.secrets, options, build_model=lambda _: script.model()
        ) as assistant:
            if not await assistant.models.list():
                config = ModelConfig(
                    "scripted", "openai-compatible", "scripted", base_url="http://127.0.0.1:9/v1"
                )
                await assistant.models.add(ME, config)
            yield Harness(app, assistant)


async def drive(run: ChatRun[Plan], on_event: OnEvent | None = None) -> list[events.ChatEvent]:
    """Every event of ``run`` until it ends (bounded)."""
    seen: list[events.ChatEvent] = []
    with anyio.fail_after(WAIT_S):
        async with run:
            async for event in run:
                seen.append(event)
                if on_event is not None:
                    await on_event(event, run)
    return seen


def last(seen: list[events.ChatEvent]) -> events.ChatEvent:
    return seen[-1]
