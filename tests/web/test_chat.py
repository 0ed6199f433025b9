"""The Chat page in-process: a scripted model (pydantic-ai ``FunctionModel``) over a real App.

Sends go through the page's forms, the answer through ``/chat/{id}/events``; approvals are the
host's, decided with the same ``/approvals/{id}`` the Approvals page uses.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import httpx2
import pytest
from starlette.applications import Starlette

from tests.chat.scripted import Script, call, returns, text
from tests.fakes import FakeSource
from tests.web.conftest import BASE_URL, ME, WAIT_S, Page, add_fake, sign_in
from tether.app import App
from tether.chat.assistant import Assistant, ChatOptions
from tether.chat.models import ModelConfig
from tether.types import Verdict
from tether.web.app import create_web_app
from tether.web.chat_runs import ChatRuns, LiveRun, chat_runs
from tether.web.security import Sessions

pytestmark = pytest.mark.anyio
SCRIPTED = ModelConfig("scripted", "openai-compatible", "scripted", base_url="http://127.0.0.1:9/v1")


@dataclass
class ChatWeb:
    app: App
    web: Starlette
    page: Page
    fake: FakeSource
    script: Script = field(default_factory=Script)

    @property
    def runs(self) -> ChatRuns:
        return chat_runs(self.web.state.web)

    async def add_model(self, config: ModelConfig = SCRIPTED) -> None:
        await self.runs.assistant.models.add(ME, config)

    async def send(self, message: str, path: str = "/chat", **fields: str) -> str:
        """Send as the form does; the id of the conversation the page goes to."""
        answer = await self.page.post(path, {"message": message, **fields})
        assert answer.status_code == 303, answer.text
        return answer.headers["location"].removeprefix("/chat/")

    async def events(self, conversation_id: str) -> list[tuple[str, dict[str, object]]]:
        """Every message of the run's stream, once it ended."""
        with anyio.fail_after(WAIT_S):
            answer = await self.page.get(f"/chat/{conversation_id}/events")
        assert answer.headers["content-type"].startswith("text/event-stream")
        found: list[tuple[str, dict[str, object]]] = []
        name = ""
        for line in answer.text.splitlines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                found.append((name, json.loads(line.removeprefix("data: "))))
        return found


async def until(live: LiveRun, is_there: Callable[[LiveRun], bool]) -> None:
    with anyio.fail_after(WAIT_S):
        while not is_there(live):
            await live.changed()


def waiting_approval(live: LiveRun) -> str | None:
    for name, data in live.messages:
        if name == "call" and 'data-status="waiting"' in str(data["html"]):
            return str(data["html"]).split('data-approval="', 1)[1].split('"', 1)[0]
    return None


def streamed_text(found: list[tuple[str, dict[str, object]]]) -> str:
    return "".join(str(data["text"]) for name, data in found if name == "text")


@asynccontextmanager
async def serving(app: App, fake: FakeSource, script: Script | None = None) -> AsyncGenerator[ChatWeb]:
    """The web app over ``app`` with a scripted assistant, signed in; leaving it stops the web app."""
    holder: list[ChatWeb] = []

    def scripted() -> Assistant:
        options = ChatOptions(model_max_retries=0)
        return Assistant(
            app.host, app.store, app.secrets, options, build_model=lambda _: holder[0].script.model()
        )

    sessions = Sessions()
    web = create_web_app(app, sessions=sessions, assistant=scripted)
    async with web.router.lifespan_context(web):
        transport = httpx2.ASGITransport(app=web)
        async with httpx2.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            holder.append(ChatWeb(app, web, await sign_in(http, sessions), fake, script or Script()))
            yield holder[0]


@pytest.fixture
async def chat(tether_app: App) -> AsyncGenerator[ChatWeb]:
    fake = FakeSource.echo("fake")
    await add_fake(tether_app, fake)
    async with serving(tether_app, fake) as chat:
        yield chat


async def test_without_a_model_the_page_says_how_to_add_one_and_keeps_the_message(chat: ChatWeb) -> None:
    body = (await chat.page.get("/chat")).text
    assert "No model is configured yet" in body
    assert "tether model add" in body
    assert "tether mcp" in body  # the gateway works meanwhile

    answer = await chat.page.post("/chat", {"message": "are you there?"})
    assert answer.status_code == 422
    assert "no model is configured" in answer.text
    assert "are you there?</textarea>" in answer.text  # nothing typed is lost
    assert await chat.runs.assistant.conversations.list() == []


async def test_a_message_streams_the_answer_and_the_conversation_is_stored(chat: ChatWeb) -> None:
    await chat.add_model()
    chat.script = Script([text("Hello from the scripted model.")])
    conversation_id = await chat.send("hi there")

    found = await chat.events(conversation_id)
    assert streamed_text(found) == "Hello from the scripted model."
    assert len([n for n, _ in found if n == "text"]) > 1  # it came in pieces
    assert [n for n, _ in found][-2:] == ["finished", "end"]
    assert "tokens:" in str(found[-2][1]["html"])

    body = (await chat.page.get(f"/chat/{conversation_id}")).text
    assert "hi there" in body
    assert "Hello from the scripted model." in body
    assert "tokens:" in body  # usage per turn
    assert "data-stream" not in body  # the run is over: nothing to follow
    assert f'href="/chat/{conversation_id}" aria-current="page"' in body


async def test_a_tool_call_waits_inline_the_approvals_page_shows_it_and_approving_continues(
    chat: ChatWeb,
) -> None:
    await chat.add_model()
    chat.script = Script(
        [text("Let me echo that. "), call("fake__echo", {"text": "<b>hi</b>"}, "c1")],
        lambda messages: [text(f"The tool said {returns(messages)['c1'].content}.")],
    )
    conversation_id = await chat.send("echo <b>hi</b>")
    live = chat.runs.runs[conversation_id]
    await until(live, lambda run: waiting_approval(run) is not None)
    approval_id = waiting_approval(live)

    page = (await chat.page.get(f"/chat/{conversation_id}")).text
    assert f'data-stream="/chat/{conversation_id}/events"' in page  # the page follows the live run
    assert "&lt;b&gt;hi&lt;/b&gt;" in page
    assert "<b>hi</b>" not in page
    assert f'id="approval-{approval_id}"' in (await chat.page.get("/approvals")).text  # host approval

    first = await chat.page.post(f"/approvals/{approval_id}", {"verdict": "approved_once"})
    again = await chat.page.post(f"/approvals/{approval_id}", {"verdict": "denied"})
    assert first.status_code == 200
    assert (again.status_code, "already decided" in again.text) == (409, True)  # a stale click

    found = await chat.events(conversation_id)
    calls = [str(data["html"]) for name, data in found if name == "call"]
    assert 'data-status="running"' in calls[0]
    assert 'data-status="waiting"' in calls[1]
    assert "Approve once" in calls[1]
    assert 'data-status="ok"' in calls[-1]
    assert "<details>" in calls[-1]
    assert 'href="/activity/' in calls[-1]
    assert streamed_text(found) == "Let me echo that. The tool said <b>hi</b>."
    assert chat.fake.calls == [("echo", {"text": "<b>hi</b>"})]

    stored = (await chat.page.get(f"/chat/{conversation_id}/messages")).text
    assert "The tool said &lt;b&gt;hi&lt;/b&gt;." in stored
    assert 'data-status="ok"' in stored


async def test_cancel_stops_a_turn_that_waits_and_gives_up_its_approval(chat: ChatWeb) -> None:
    await chat.add_model()
    chat.script = Script([call("fake__echo", {"text": "never"}, "c1")])
    conversation_id = await chat.send("echo never")
    live = chat.runs.runs[conversation_id]
    await until(live, lambda run: waiting_approval(run) is not None)

    assert (await chat.page.post(f"/chat/{conversation_id}/cancel")).status_code == 204
    found = await chat.events(conversation_id)
    assert "Cancelled" in str(found[-2][1]["html"])
    assert await chat.app.store.pending_approvals() == []
    assert chat.fake.calls == []
    assert (await chat.page.post(f"/chat/{conversation_id}/cancel")).status_code == 409  # nothing runs


async def test_a_model_endpoint_that_is_down_shows_a_clear_error(tether_app: App) -> None:
    sessions = Sessions()
    down = ModelConfig("down", "openai-compatible", "llama", base_url="http://127.0.0.1:9/v1")

    def real() -> Assistant:  # a real model client, at a port nothing listens on
        return Assistant(
            tether_app.host, tether_app.store, tether_app.secrets, ChatOptions(model_max_retries=0)
        )

    web = create_web_app(tether_app, sessions=sessions, assistant=real)
    async with web.router.lifespan_context(web):
        transport = httpx2.ASGITransport(app=web)
        async with httpx2.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            page = await sign_in(http, sessions)
            await chat_runs(web.state.web).assistant.models.add(ME, down)
            answer = await page.post("/chat", {"message": "hello?"})
            conversation_id = answer.headers["location"].removeprefix("/chat/")
            with anyio.fail_after(WAIT_S):
                events = (await page.get(f"/chat/{conversation_id}/events")).text
            assert "model_unreachable" in events
            assert "did not answer at http://127.0.0.1:9/v1" in events
            body = (await page.get(f"/chat/{conversation_id}")).text
            assert "hello?" in body  # the message is kept
            assert "did not answer" in body


async def test_a_send_without_the_csrf_token_is_refused_and_nothing_starts(chat: ChatWeb) -> None:
    await chat.add_model()
    refused = await chat.page.http.post("/chat", data={"message": "hi"})
    assert refused.status_code == 403
    assert await chat.runs.assistant.conversations.list() == []
    assert chat.runs.runs == {}


async def test_an_empty_message_or_an_unknown_conversation_is_refused_clearly(chat: ChatWeb) -> None:
    await chat.add_model()
    empty = await chat.page.post("/chat", {"message": "   "})
    assert (empty.status_code, "the message is empty" in empty.text) == (422, True)
    assert (await chat.page.get("/chat/nope")).status_code == 404
    assert (await chat.page.post("/chat/nope/messages", {"message": "hi"})).status_code == 404
    assert (await chat.page.get("/chat/nope/export")).status_code == 404
    ended = (await chat.page.get("/chat/nope/events")).text
    assert "event: end" in ended


async def test_a_conversation_uses_only_the_sources_ticked(chat: ChatWeb) -> None:
    await chat.add_model()
    chat.script = Script([text("No tools here.")])
    conversation_id = await chat.send("anything?", sources_shown="1")  # no source ticked
    await chat.events(conversation_id)
    assert chat.script.tools == [[]]
    conversation = await chat.app.store.get_conversation(conversation_id)
    assert conversation.sources == ()

    chat.script = Script([text("All of them.")])
    everything = await chat.send("and now?", sources="fake", sources_shown="1")  # every enabled source ticked
    await chat.events(everything)
    assert "fake__echo" in chat.script.tools[0]
    assert (await chat.app.store.get_conversation(everything)).sources is None

    # Later messages keep the conversation's choice, unless the composer changes it.
    chat.script = Script([text("Still none.")], then=[text("Now with tools.")])
    await chat.send("more?", path=f"/chat/{conversation_id}/messages")
    await chat.events(conversation_id)
    await chat.send("and now?", path=f"/chat/{conversation_id}/messages", sources="fake", sources_shown="1")
    await chat.events(conversation_id)
    assert chat.script.tools[0] == []
    assert "fake__echo" in chat.script.tools[1]
    assert (await chat.app.store.get_conversation(conversation_id)).sources is None
    page = (await chat.page.get(f"/chat/{conversation_id}")).text
    assert 'name="sources" value="fake" checked' in page


async def test_rename_export_and_delete_a_conversation(chat: ChatWeb) -> None:
    await chat.add_model()
    chat.script = Script([text("Noted.")], then=[text("Again.")])
    conversation_id = await chat.send("remember this")
    await chat.events(conversation_id)
    await chat.send("and this", path=f"/chat/{conversation_id}/messages")
    await chat.events(conversation_id)

    renamed = await chat.page.post(f"/chat/{conversation_id}/rename", {"title": "My notes"})
    assert renamed.status_code == 303
    assert "My notes" in (await chat.page.get("/chat")).text
    empty_title = await chat.page.post(f"/chat/{conversation_id}/rename", {"title": " "})
    assert empty_title.status_code == 422

    exported = await chat.page.get(f"/chat/{conversation_id}/export")
    assert exported.headers["content-disposition"] == 'attachment; filename="My notes.md"'
    assert exported.headers["content-type"].startswith("text/markdown")
    assert "remember this" in exported.text
    assert "Again." in exported.text

    assert (await chat.page.post(f"/chat/{conversation_id}/delete")).status_code == 303
    assert (await chat.page.get(f"/chat/{conversation_id}")).status_code == 404


async def test_models_are_added_in_the_page_and_their_keys_never_come_back(chat: ChatWeb) -> None:
    added = await chat.page.post(
        "/chat/models",
        {"name": "gpt", "provider": "openai", "model_id": "gpt-4.1", "api_key": "sk-web-secret-1234"},
    )
    assert added.status_code == 303
    body = (await chat.page.get("/chat")).text
    assert "gpt-4.1" in body
    assert "secret store" in body
    assert "sk-web-secret-1234" not in body
    assert (
        chat.runs.assistant.models.api_key(await chat.runs.assistant.models.get("gpt"))
        == "sk-web-secret-1234"
    )

    keyless = await chat.page.post(
        "/chat/models", {"name": "claude", "provider": "anthropic", "model_id": "claude-x", "api_key": ""}
    )
    assert keyless.status_code == 422
    assert "needs an API key" in keyless.text
    assert 'value="claude-x"' in keyless.text  # what was typed comes back, but never a key
    bad_url = await chat.page.post(
        "/chat/models",
        {"name": "local", "provider": "openai-compatible", "model_id": "llama", "api_key": "sk-other-5678"},
    )
    assert bad_url.status_code == 422
    assert "--base-url" in bad_url.text
    assert "sk-other-5678" not in bad_url.text

    await chat.add_model()
    assert (await chat.page.post("/chat/models/scripted/default")).status_code == 303
    assert await chat.runs.assistant.models.default_name() == "scripted"
    assert (await chat.page.post("/chat/models/gpt/remove")).status_code == 303
    assert [m.name for m in await chat.runs.assistant.models.list()] == ["scripted"]
    assert (await chat.page.post("/chat/models/gpt/remove")).status_code == 404


async def test_a_conversation_left_waiting_by_a_stopped_run_is_continued_from_the_page(chat: ChatWeb) -> None:
    await chat.add_model()
    chat.script = Script(
        [call("fake__echo", {"text": "later"}, "c1")],
        lambda messages: [text(f"done: {returns(messages)['c1'].content}")],
    )
    # A run torn down while it waits (tether stopping): the approval stays pending.
    async with chat.runs.assistant.send("echo later") as run:
        async for event in run:
            if type(event).__name__ == "ApprovalWaiting":
                break
    conversation_id = run.conversation_id
    [pending] = await chat.app.store.pending_approvals()

    body = (await chat.page.get(f"/chat/{conversation_id}")).text
    assert "waits for your approval" in body
    assert f'id="approval-{pending.request.id}"' in body
    assert "Continue" in body
    fragment = (await chat.page.get(f"/chat/{conversation_id}/messages")).text
    assert f'action="/chat/{conversation_id}/resume"' in fragment
    assert await chat.app.store.resolve_approval(pending.request.id, Verdict.APPROVED_ONCE, "web:test")

    assert (await chat.page.post(f"/chat/{conversation_id}/resume")).status_code == 303
    found = await chat.events(conversation_id)
    assert streamed_text(found) == "done: later"
    assert chat.fake.calls == [("echo", {"text": "later"})]
    again = await chat.page.post(f"/chat/{conversation_id}/resume")
    assert (again.status_code, "nothing waiting" in again.text) == (422, True)


async def test_deleting_a_conversation_that_waits_cancels_its_run_and_leaves_nothing(chat: ChatWeb) -> None:
    await chat.add_model()
    chat.script = Script([call("fake__echo", {"text": "gone"}, "c1")])
    conversation_id = await chat.send("echo gone")
    live = chat.runs.runs[conversation_id]
    await until(live, lambda run: waiting_approval(run) is not None)
    listed = (await chat.page.get("/chat")).text
    assert f'href="/chat/{conversation_id}"' in listed  # listed while its first turn runs

    assert (await chat.page.post(f"/chat/{conversation_id}/delete")).status_code == 303
    assert live.is_over
    assert (await chat.page.get(f"/chat/{conversation_id}")).status_code == 404
    assert await chat.app.store.pending_approvals() == []
    assert chat.fake.calls == []


async def test_a_turn_slow_to_stop_leaves_the_conversation_and_says_to_try_again(
    chat: ChatWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tether.web.pages.chat.STOP_WAIT_S", 0.0)  # the turn cannot stop in time
    await chat.add_model()
    chat.script = Script([call("fake__echo", {"text": "slow"}, "c1")])
    conversation_id = await chat.send("echo slow")
    live = chat.runs.runs[conversation_id]
    await until(live, lambda run: waiting_approval(run) is not None)

    refused = await chat.page.post(f"/chat/{conversation_id}/delete")
    assert refused.status_code == 409
    assert "still stopping" in refused.text
    assert (await chat.page.get(f"/chat/{conversation_id}")).status_code == 200  # nothing deleted
    await until(live, lambda run: run.is_over)
    assert (await chat.page.post(f"/chat/{conversation_id}/delete")).status_code == 303
    assert (await chat.page.get(f"/chat/{conversation_id}")).status_code == 404


async def test_a_run_waiting_when_the_web_app_stops_is_continued_after_it_starts_again(
    tether_app: App,
) -> None:
    fake = FakeSource.echo("fake")
    await add_fake(tether_app, fake)
    script = Script(
        [call("fake__echo", {"text": "after the restart"}, "c1")],
        lambda messages: [text(f"done: {returns(messages)['c1'].content}")],
    )
    async with serving(tether_app, fake, script) as before:
        await before.add_model()
        conversation_id = await before.send("echo after the restart")
        await until(before.runs.runs[conversation_id], lambda run: waiting_approval(run) is not None)
    # The web app stopped with the run waiting: the approval is still pending, the turn stored.
    [pending] = await tether_app.store.pending_approvals()
    assert (await tether_app.store.get_conversation(conversation_id)).pending == {"c1": pending.request.id}

    async with serving(tether_app, fake, script) as after:
        body = (await after.page.get(f"/chat/{conversation_id}")).text
        assert f'id="approval-{pending.request.id}"' in body
        assert "Continue" in body
        assert (await after.page.post(f"/chat/{conversation_id}/resume")).status_code == 303
        live = after.runs.runs[conversation_id]
        await until(live, lambda run: waiting_approval(run) is not None)
        decided = await after.page.post(f"/approvals/{pending.request.id}", {"verdict": "approved_once"})
        assert decided.status_code == 200
        found = await after.events(conversation_id)
        assert streamed_text(found) == "done: after the restart"
        assert fake.calls == [("echo", {"text": "after the restart"})]
