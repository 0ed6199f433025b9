"""Chat: talk to the assistant over your tools; the answer streams in, approvals show inline.

Forms post plainly (they work without script) and redirect to the conversation, whose page
follows the run over ``GET /chat/{id}/events`` (``chat_runs``). A failed send re-renders the
page with the error and the message still typed. Approvals are the host's: the inline cards
post to ``/approvals/{id}`` like everywhere else. API keys go in and never come back out.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from tether.chat.models import PROVIDER_NAMES, PROVIDERS, ModelConfig
from tether.chat.turns import now
from tether.core.storage import Conversation, StoredApproval
from tether.errors import TetherError, UnknownApproval, UnknownConversation, UsageError
from tether.web.chat_runs import ChatRuns, LiveRun, chat_runs
from tether.web.chat_views import message_views, sse
from tether.web.context import Web, actor, read_form, session, text, texts, web_of
from tether.web.errors import status_for

HEARTBEAT_S = 15.0
STOP_WAIT_S = 30.0
"""How long deleting a conversation waits for its cancelled run to stop."""
CHECK_EVERY_S = 0.5
"""How soon a stream notices the server stopping or the session ending."""
_FILE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True, slots=True)
class SourceChoice:
    name: str
    is_chosen: bool


@dataclass(frozen=True, slots=True)
class ModelRow:
    name: str
    provider: str
    model_id: str
    base_url: str
    api_key: str
    """Where the key is (secret store, env:NAME, none); never the key."""
    is_default: bool


# -- pages -------------------------------------------------------------------------------------


async def chat_page(request: Request) -> Response:
    return await _page(request, None)


async def conversation_page(request: Request) -> Response:
    return await _page(request, request.path_params["id"])


async def messages_fragment(request: Request) -> Response:
    """The conversation's messages as stored (the page swaps them in when a run ends)."""
    web = web_of(request)
    context = await _conversation_context(web, chat_runs(web), request.path_params["id"])
    return web.fragment("_chat_messages.html", {**context, "csrf_token": session(request).csrf_token})


async def _page(
    request: Request,
    conversation_id: str | None,
    *,
    error: str | None = None,
    draft: str = "",
    chosen_model: str | None = None,
    chosen_sources: Sequence[str] | None = None,
    model_form: dict[str, str] | None = None,
    model_error: str | None = None,
    status_code: int = 200,
) -> Response:
    web = web_of(request)
    runs = chat_runs(web)
    models = runs.assistant.models
    configs, default = await models.list(), await models.default_name()
    sources = [s.name for s in await web.backend.store.list_sources() if s.is_enabled]
    context: dict[str, Any] = {
        "conversations": await _conversations(runs),
        "live_ids": {key for key, run in runs.runs.items() if not run.is_over},
        "models": [_model_row(c, default) for c in configs],
        "providers": [(p, PROVIDER_NAMES[p]) for p in PROVIDERS],
        "chosen_model": chosen_model or default,
        "sources": [SourceChoice(n, chosen_sources is None or n in chosen_sources) for n in sources],
        "error": error,
        "draft": draft,
        "model_form": model_form or {},
        "model_error": model_error,
        "current": None,
    }
    if conversation_id is not None:
        context.update(await _conversation_context(web, runs, conversation_id))
        current: Conversation = context["current"]
        if chosen_model is None:
            context["chosen_model"] = current.model or default
        if chosen_sources is None and current.sources is not None:
            context["sources"] = [SourceChoice(n, n in current.sources) for n in sources]
    return await web.render(request, "chat.html", context, status_code=status_code)


async def _conversations(runs: ChatRuns) -> list[Conversation]:
    """Stored conversations, after new ones whose first turn is still going (stored at its end)."""
    stored = list(await runs.assistant.conversations.list())
    known = {c.id for c in stored}
    unsaved = [
        _unsaved(run) for key, run in reversed(runs.runs.items()) if not run.is_over and key not in known
    ]
    return unsaved + stored


async def _conversation_context(web: Web, runs: ChatRuns, conversation_id: str) -> dict[str, Any]:
    live = runs.live(conversation_id)
    try:
        conversation, messages = await runs.assistant.conversations.open(conversation_id)
    except UnknownConversation:
        if live is None:
            raise
        # A new conversation is stored at the run's first checkpoint; until then only the run knows it.
        conversation, messages = _unsaved(live), ()
    approvals: dict[str, StoredApproval] = {}
    for approval_id in conversation.pending.values():
        with contextlib.suppress(UnknownApproval):  # given up meanwhile: the call shows as waiting
            approvals[approval_id] = await web.backend.store.get_approval(approval_id)
    shown = messages[: live.shown_before] if live is not None else messages
    return {
        "current": conversation,
        "messages": message_views(shown, approvals),
        "live": live,
        "is_waiting": bool(conversation.pending) and live is None,
    }


def _unsaved(live: LiveRun) -> Conversation:
    started = now()
    title = (live.prompt or "New conversation").strip().splitlines()[0][:60]
    return Conversation(
        id=live.conversation_id,
        title=title,
        created_at=started,
        updated_at=started,
        model=live.model,
        sources=live.sources,
    )


# -- sending, resuming, cancelling -------------------------------------------------------------


async def send_new(request: Request) -> Response:
    web = web_of(request)
    runs = chat_runs(web)
    form = await read_form(request)
    message, model = _message(form.get("message")), text(form, "model") or None
    sources = await _chosen_sources(web, form)
    try:
        run = runs.assistant.send(message, model=model, sources=sources)
        live = await runs.start(run, prompt=message, shown_before=0)
        live.sources = tuple(sources) if sources is not None else None
    except TetherError as error:
        return await _page(
            request,
            None,
            error=str(error),
            draft=message,
            chosen_model=model,
            chosen_sources=sources,
            status_code=status_for(error),
        )
    return RedirectResponse(f"/chat/{live.conversation_id}", status_code=303)


async def send(request: Request) -> Response:
    web = web_of(request)
    runs = chat_runs(web)
    conversation_id = request.path_params["id"]
    form = await read_form(request)
    message, model = _message(form.get("message")), text(form, "model") or None
    sources = await _chosen_sources(web, form)
    try:
        conversation, stored = await runs.assistant.conversations.open(conversation_id)
        if "sources_shown" not in form:
            sources = conversation.sources  # a form without the choice keeps the conversation's
        elif sources is None and conversation.sources is not None:
            # Every source ticked again: ``send`` reads None as "unchanged", so say it here.
            await runs.assistant.conversations.choose_sources(conversation_id, None)
        run = runs.assistant.send(message, conversation_id=conversation_id, model=model, sources=sources)
        await runs.start(run, prompt=message, shown_before=len(stored))
    except TetherError as error:
        return await _page(
            request,
            conversation_id,
            error=str(error),
            draft=message,
            chosen_model=model,
            chosen_sources=sources,
            status_code=status_for(error),
        )
    return RedirectResponse(f"/chat/{conversation_id}", status_code=303)


async def resume(request: Request) -> Response:
    """Continue a conversation whose calls wait for approval (after tether restarted, say)."""
    web = web_of(request)
    runs = chat_runs(web)
    conversation_id = request.path_params["id"]
    try:
        _, stored = await runs.assistant.conversations.open(conversation_id)
        await runs.start(runs.assistant.resume(conversation_id), prompt=None, shown_before=len(stored))
    except TetherError as error:
        return await _page(request, conversation_id, error=str(error), status_code=status_for(error))
    return RedirectResponse(f"/chat/{conversation_id}", status_code=303)


async def cancel(request: Request) -> Response:
    runs = chat_runs(web_of(request))
    if not runs.assistant.cancel(request.path_params["id"]):
        return Response("nothing is running in this conversation", status_code=409)
    return Response(status_code=204)


async def _chosen_sources(web: Web, form: FormData) -> list[str] | None:
    """The sources ticked; None (every enabled one, later ones too) when all are or none were offered."""
    enabled = [s.name for s in await web.backend.store.list_sources() if s.is_enabled]
    chosen = list(texts(form, "sources"))
    if "sources_shown" not in form or set(enabled) <= set(chosen):
        return None
    return [name for name in chosen if name in enabled]


def _message(value: object) -> str:
    return value if isinstance(value, str) else ""


# -- the live stream ---------------------------------------------------------------------------


async def run_events(request: Request) -> StreamingResponse:
    """The run's events from the start, or after ``Last-Event-ID``; ends with ``end`` when the run does."""
    web = web_of(request)
    live = chat_runs(web).runs.get(request.path_params["id"])
    try:
        after = int(request.headers.get("last-event-id", "-1"))
    except ValueError:
        after = -1
    return StreamingResponse(
        _follow(web, live, after=after, session_key=session(request).key),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _follow(web: Web, live: LiveRun | None, *, after: int, session_key: str) -> AsyncGenerator[str]:
    yield "retry: 1000\n\n"
    if live is None:
        yield "event: end\ndata: {}\n\n"
        return
    index, quiet_s = after + 1, 0.0
    while True:
        while index < len(live.messages):
            yield sse(index, live.messages[index])
            index, quiet_s = index + 1, 0.0
        if live.is_over:
            yield "event: end\ndata: {}\n\n"
            return
        with anyio.move_on_after(CHECK_EVERY_S) as waited:
            await live.changed()
        if web.is_stopping() or not web.sessions.is_active(session_key):
            return
        if waited.cancelled_caught:
            quiet_s += CHECK_EVERY_S
            if quiet_s >= HEARTBEAT_S:
                quiet_s = 0.0
                yield ": still here\n\n"


# -- managing conversations --------------------------------------------------------------------


async def rename(request: Request) -> Response:
    runs = chat_runs(web_of(request))
    conversation_id = request.path_params["id"]
    try:
        await runs.assistant.conversations.rename(conversation_id, text(await read_form(request), "title"))
    except UsageError as error:
        return await _page(request, conversation_id, error=str(error), status_code=status_for(error))
    return RedirectResponse(f"/chat/{conversation_id}", status_code=303)


async def delete(request: Request) -> Response:
    runs = chat_runs(web_of(request))
    conversation_id = request.path_params["id"]
    live = runs.live(conversation_id)
    if live is not None and runs.assistant.cancel(conversation_id):
        # The cancelled run stores what it did as it stops: let it, then delete it all.
        with anyio.move_on_after(STOP_WAIT_S):
            while not live.is_over:
                await live.changed()
        if not live.is_over:
            return await _page(
                request,
                conversation_id,
                error="its turn is still stopping: nothing was deleted, try again in a moment",
                status_code=409,
            )
    await runs.assistant.conversations.delete(conversation_id)
    return RedirectResponse("/chat", status_code=303)


async def export(request: Request) -> Response:
    runs = chat_runs(web_of(request))
    conversation_id = request.path_params["id"]
    conversation = await runs.assistant.conversations.open(conversation_id)
    markdown = await runs.assistant.conversations.export_markdown(conversation_id)
    name = _FILE_NAME.sub("", conversation[0].title).strip()[:60] or conversation_id
    return Response(
        markdown,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.md"'},
    )


# -- models ------------------------------------------------------------------------------------


async def add_model(request: Request) -> Response:
    runs = chat_runs(web_of(request))
    form = await read_form(request)
    api_key = text(form, "api_key")
    config = ModelConfig(
        text(form, "name"),
        text(form, "provider"),
        text(form, "model_id"),
        base_url=text(form, "base_url") or None,
        api_key_env=text(form, "api_key_env") or None,
    )
    try:
        if config.provider in ("anthropic", "openai") and not api_key and config.api_key_env is None:
            raise UsageError(
                f"a {PROVIDER_NAMES[config.provider]} model needs an API key: paste it, or name the "
                "environment variable that holds it"
            )
        await runs.assistant.models.add(actor(request), config, api_key=api_key or None)
    except TetherError as error:
        # What was typed comes back, except the key: a secret is never sent to the page.
        typed = {
            name: text(form, name) for name in ("name", "provider", "model_id", "base_url", "api_key_env")
        }
        return await _page(
            request, None, model_error=str(error), model_form=typed, status_code=status_for(error)
        )
    return RedirectResponse("/chat#models", status_code=303)


async def remove_model(request: Request) -> Response:
    runs = chat_runs(web_of(request))
    await runs.assistant.models.remove(actor(request), request.path_params["name"])
    return RedirectResponse("/chat#models", status_code=303)


async def default_model(request: Request) -> Response:
    runs = chat_runs(web_of(request))
    await runs.assistant.models.set_default(actor(request), request.path_params["name"])
    return RedirectResponse("/chat#models", status_code=303)


def _model_row(config: ModelConfig, default: str | None) -> ModelRow:
    return ModelRow(
        name=config.name,
        provider=config.provider_name,
        model_id=config.model_id,
        base_url=config.base_url or "",
        api_key=str(config.describe()["api_key"]),
        is_default=config.name == default,
    )
