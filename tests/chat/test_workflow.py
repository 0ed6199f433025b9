"""Issue 10's combined workflow, end to end on real parts: the Files built-in (installed from its
bundle) reads notes and a PDF from a temporary Documents dir, the reference tasks connector
(signed in through OAuth) gets three tasks, the summary write waits for an approval given
through the web API, and the activity log holds every step in order with its decision."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import httpx2
import pytest
from pydantic_ai.messages import ModelMessage

from tests.builtin.pdfs import write_pdf
from tests.chat.harness import ME, drive
from tests.chat.scripted import Part, Script, call, returns, text
from tests.connectors.conftest import connector, login, wait_for
from tests.connectors.servers import Browser, serve_tasks
from tests.web.conftest import BASE_URL, sign_in
from tether.app import open_app
from tether.builtin import builtin_dir
from tether.chat import events
from tether.chat.assistant import Assistant, ChatOptions, Plan
from tether.chat.models import ModelConfig
from tether.chat.run import ChatRun
from tether.config import Settings
from tether.core.storage import ActivityFilter
from tether.extensions.pack import pack_bundle
from tether.types import Effect, SourceState
from tether.web.app import create_web_app
from tether.web.security import Sessions

NOTES = "# Project notes\n\n- draft the plan\n- review the budget\n- book the venue\n"


async def test_read_notes_create_tasks_and_save_a_summary_with_one_approval_from_the_web(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The installed built-in runs on the `python3` tether finds on PATH: let it be this one,
    # which has the built-ins' dependencies.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    docs = tmp_path / "Documents"
    docs.mkdir()
    (docs / "notes.md").write_text(NOTES)
    write_pdf(docs / "plan.pdf", 1, lines_per_page=2)
    bundle = tmp_path / "files.mcpb"
    bundle.write_bytes(pack_bundle(builtin_dir("files")))

    def create_tasks(messages: list[ModelMessage]) -> list[Part]:
        read = returns(messages)
        assert "book the venue" in str(read["notes"].content)
        assert "Page 1" in str(read["pdf"].content)
        items = [line[2:] for line in NOTES.splitlines() if line.startswith("- ")]
        return [call("tasks__create_task", {"title": item}, f"task{n}") for n, item in enumerate(items)]

    def write_summary(messages: list[ModelMessage]) -> list[Part]:
        created = [json.loads(str(p.content))["title"] for p in returns(messages).values()]
        summary = "# Summary\n\nTasks created: " + ", ".join(created) + "\n"
        return [call("files__write_file", {"path": str(docs / "summary.md"), "content": summary}, "write")]

    script = Script(
        [
            text("Reading your notes. "),
            call("files__read_text_file", {"path": str(docs / "notes.md")}, "notes"),
            call("files__read_pdf_text", {"path": str(docs / "plan.pdf")}, "pdf"),
        ],
        create_tasks,
        write_summary,
        lambda messages: [text("Done: three tasks created and the summary saved.")],
    )

    async with serve_tasks() as server, open_app(settings) as app:
        installed = await app.extensions().install_bundle(
            ME, bundle, settings={"allowed_directories": [str(docs)]}
        )
        await app.add_source(ME, connector("tasks", server.mcp_url))
        await login(app.connector_vault(await app.store.get_source("tasks")), Browser(user="ann"))
        await app.start_sources()
        await wait_for(app.host.source("tasks"), SourceState.RUNNING)  # pyright: ignore[reportArgumentType]
        for tool in ("files__read_text_file", "files__read_pdf_text", "tasks__create_task"):
            await app.host.set_policy(ME, await app.host.resolve(tool), Effect.ALLOW)
        # files__write_file stays at "ask": the one call that waits for a person.

        sessions = Sessions()
        web = create_web_app(app, sessions=sessions)
        async with (
            web.router.lifespan_context(web),
            httpx2.AsyncClient(transport=httpx2.ASGITransport(app=web), base_url=BASE_URL) as http,
            Assistant(
                app.host,
                app.store,
                app.secrets,
                ChatOptions(model_max_retries=0),
                build_model=lambda _: script.model(),
            ) as assistant,
        ):
            page = await sign_in(http, sessions)
            await assistant.models.add(
                ME, ModelConfig("scripted", "openai-compatible", "m", base_url="http://127.0.0.1:9/v1")
            )

            async def approve_on_the_web(event: events.ChatEvent, run: ChatRun[Plan]) -> None:
                if isinstance(event, events.ApprovalWaiting):
                    assert event.request.tool.qualified_name == "files__write_file"
                    approvals_page = await page.get("/approvals")
                    assert event.request.id in approvals_page.text  # the same approval, on the Approvals page
                    answer = await page.post(f"/approvals/{event.request.id}", {"verdict": "approved_once"})
                    assert answer.status_code < 400, answer.text

            run = assistant.send("Read my project notes, create the tasks, and save a summary next to them")
            seen = await drive(run, approve_on_the_web)

        finished = seen[-1]
        assert isinstance(finished, events.TurnFinished), seen
        assert finished.usage.tool_calls == 6
        await app.host.set_policy(ME, await app.host.resolve("tasks__list_tasks"), Effect.ALLOW)
        with anyio.fail_after(20):
            listed = await app.host.call_tool(ME, "tasks__list_tasks", {})
        for title in ("draft the plan", "review the budget", "book the venue"):
            assert title in listed.text
        assert "Tasks created: draft the plan" in (docs / "summary.md").read_text()

        rows = await app.store.records(ActivityFilter(kind="tool.called"))
        chat_rows = [r for r in rows if r.actor == f"chat:{run.conversation_id}"]
        steps = [
            (f"{r.source}__{r.tool}", r.data["effect"], r.data["verdict"], r.data["outcome"])
            for r in chat_rows
        ]
        assert sorted(steps[:2]) == [
            ("files__read_pdf_text", "allow", None, "ok"),
            ("files__read_text_file", "allow", None, "ok"),
        ]
        assert steps[2:] == [
            *[("tasks__create_task", "allow", None, "ok")] * 3,
            ("files__write_file", "ask", "approved_once", "ok"),
        ]
        [resolved] = await app.store.records(ActivityFilter(kind="approval.resolved"))
        assert resolved.data["verdict"] == "approved_once"
        assert resolved.seq < chat_rows[-1].seq
        _, messages = await assistant.conversations.open(run.conversation_id)
        linked = [c.activity_seq for m in messages for c in m.tool_calls]
        assert sorted(seq or 0 for seq in linked) == sorted(r.seq for r in chat_rows)
        assert installed.extension.id == "files"
