"""The Chat page's runs: each assistant run goes on in the web app's task group, not in a request.

A run's events are kept as SSE messages (``LiveRun``), so a page opened or reloaded mid-run
replays them and follows on; ``Last-Event-ID`` lets a reconnecting stream pick up where it
was. Stopping tether tears the runs down like the chat loop expects: what was checkpointed
stays, and calls waiting for approval stay pending, to be resumed later.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import anyio
import anyio.abc

from tether.chat import events
from tether.errors import TetherError
from tether.types import JSONObject

if TYPE_CHECKING:
    from tether.chat.assistant import Assistant, Plan
    from tether.chat.run import ChatRun
    from tether.web.context import Web

Message = tuple[str, dict[str, Any]]
"""One SSE message: its event name and JSON data."""
Render = Callable[["events.ChatEvent", "LiveRun"], Message | None]
"""A chat event as an SSE message, or None to leave it out."""
KEEP_FINISHED = 50
"""Finished runs kept for pages that open their stream late (a fast model ends before it connects)."""


@dataclass
class LiveRun:
    conversation_id: str
    prompt: str | None
    """The user's message that started the run; None for a resumed run."""
    shown_before: int
    """How many stored messages the page shows above the run's own."""
    messages: list[Message] = field(default_factory=list[Message])
    model: str | None = None
    """The model the run uses (known once it started)."""
    sources: tuple[str, ...] | None = None
    """The sources a new conversation may use (None: every enabled one)."""
    arguments: dict[str, JSONObject] = field(default_factory=dict[str, JSONObject])
    """Each call's arguments by call id, to show them again when the call finishes."""
    is_over: bool = False
    _changed: anyio.Event = field(default_factory=anyio.Event)

    def add(self, message: Message) -> None:
        self.messages.append(message)
        self._wake()

    def finish(self) -> None:
        self.is_over = True
        self._wake()

    async def changed(self) -> None:
        """Returns once a message was added or the run ended (check again after)."""
        await self._changed.wait()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()


class ChatRuns:
    """The runs of this web app, by conversation id; the assistant is made on first use."""

    def __init__(self, make_assistant: Callable[[], Assistant], render: Render) -> None:
        self._make_assistant = make_assistant
        self._assistant: Assistant | None = None
        self._render = render
        self.task_group: anyio.abc.TaskGroup | None = None
        self.runs: OrderedDict[str, LiveRun] = OrderedDict()

    @property
    def assistant(self) -> Assistant:
        if self._assistant is None:
            self._assistant = self._make_assistant()
        return self._assistant

    async def aclose(self) -> None:
        if self._assistant is not None:
            await self._assistant.aclose()

    def live(self, conversation_id: str) -> LiveRun | None:
        """The run of ``conversation_id`` still going on here, if any."""
        run = self.runs.get(conversation_id)
        return run if run is not None and not run.is_over else None

    async def start(self, chat_run: ChatRun[Plan], *, prompt: str | None, shown_before: int) -> LiveRun:
        """Prepare ``chat_run`` (its errors, e.g. no model configured, are raised here) and let it go on."""
        assert self.task_group is not None, "the web app's lifespan has not started"
        return cast(LiveRun, await self.task_group.start(self._own, chat_run, prompt, shown_before))

    async def _own(
        self,
        chat_run: ChatRun[Plan],
        prompt: str | None,
        shown_before: int,
        *,
        task_status: anyio.abc.TaskStatus[LiveRun],
    ) -> None:
        live: LiveRun | None = None
        try:
            async with chat_run:
                live = LiveRun(chat_run.conversation_id, prompt, shown_before)
                self._keep(live)
                task_status.started(live)
                async for event in chat_run:
                    message = self._render(event, live)
                    if message is not None:
                        live.add(message)
        except Exception as error:
            if live is None:
                raise  # before it started: the request that asked for it says so
            # One run failing must not take the web app down: the page says what happened.
            code = error.code if isinstance(error, TetherError) else "internal"
            failed = self._render(events.RunFailed(code, str(error), events.TokenUsage()), live)
            if failed is not None:
                live.add(failed)
        finally:
            if live is not None:
                live.finish()

    def _keep(self, live: LiveRun) -> None:
        self.runs.pop(live.conversation_id, None)
        self.runs[live.conversation_id] = live
        finished = [key for key, run in self.runs.items() if run.is_over]
        for key in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self.runs[key]


def chat_runs(web: Web) -> ChatRuns:
    """The ``ChatRuns`` ``create_web_app`` put on ``web.state``."""
    return cast(ChatRuns, web.state["chat"])
