"""The Chat page end to end in Debian's Chromium, against a real ``tether serve`` and a scripted
OpenAI-compatible model server on 127.0.0.1 (tests/chat/openai_server.py).

A person signs in, sees how to add a model, adds one in the page, chats with only the echo
source ticked, watches the answer stream, approves the tool call inline, and sees its result
and the final answer. Screenshots go to test-artifacts/browser/ (and docs/screenshots/chat.png
with TETHER_UPDATE_SCREENSHOTS=1), as in test_browser.py.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import anyio
import pytest

from tests.chat.openai_server import ChatServer, Reply
from tests.connectors.servers import serve_app
from tests.web.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    STEP_MS,
    UNLABELLED,
    Shots,
    serve_env,
    tether_serve,
)

ECHO_SERVER = Path(__file__).parents[1] / "servers" / "echo_server.py"

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium"),
]


async def test_a_person_chats_sees_the_answer_stream_and_approves_a_call_inline(tmp_path: Path) -> None:
    playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is missing")
    expect = playwright_api.expect
    expect.set_options(timeout=STEP_MS)
    env = serve_env(tmp_path)
    with anyio.fail_after(60):
        added = await anyio.run_process(
            [sys.executable, "-m", "tether", "source", "add", "echo", "--", sys.executable, str(ECHO_SERVER)],
            env=env,
            check=False,
        )
    assert added.returncode == 0, added.stderr.decode()
    model = ChatServer(
        [
            Reply(
                "Let me echo that for you. ", tool="echo__echo", arguments={"text": "hello from the browser"}
            ),
            Reply("The echo server answered: hello from the browser. All done."),
        ]
    )
    shots = Shots()

    async with (
        serve_app(lambda _: model.app()) as model_url,
        tether_serve(env) as serve,
        playwright_api.async_playwright() as pw,
    ):
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1280, "height": 860}, color_scheme="light")
        context.set_default_timeout(STEP_MS)
        page = await context.new_page()
        try:
            await page.goto(serve.login_url)
            base = serve.login_url.split("/login")[0]

            # No model yet: the page says how to add one, and that the gateway works meanwhile.
            await page.get_by_role("link", name="Chat").click()
            await expect(page.get_by_role("heading", name="Chat", exact=True)).to_be_visible()
            await expect(page.locator("#no-model")).to_contain_text("tether model add")
            await expect(page.locator("#no-model")).to_contain_text("tether mcp")
            await shots.take(page, "chat-no-model")

            # Add the model in the page; bad input first (no base URL for a compatible server).
            await page.get_by_label("Name", exact=True).fill("local")
            await page.get_by_label("Provider").select_option("openai-compatible")
            await page.get_by_label("Model ID").fill("scripted")
            await page.get_by_role("button", name="Add model").click()
            await expect(page.locator("#model-error")).to_contain_text("--base-url")
            assert await page.get_by_label("Model ID").input_value() == "scripted"  # nothing typed is lost
            await page.get_by_label("Base URL").fill(f"{model_url}/v1")
            await page.get_by_role("button", name="Add model").click()
            await expect(page.locator("#models + p + .table-wrap")).to_contain_text("default")

            # Only the echo source, then send with the keyboard.
            sources = page.locator(".chat-sources input[type=checkbox]")
            for index in range(await sources.count()):
                box = sources.nth(index)
                await box.set_checked(await box.get_attribute("value") == "echo")
            message = page.get_by_label("Message")
            await message.fill("Please echo hello from the browser")
            await message.press("Control+Enter")
            await expect(page).to_have_url(re.compile(r"/chat/[0-9a-f]{12}$"))
            conversation_url = page.url

            # The answer streams in; the call waits for approval inline.
            await expect(page.locator("[data-live-body]")).to_contain_text("Let me echo that for you.")
            call = page.locator(".chat-call", has_text="echo__echo")
            approval = call.locator(".approval")
            await expect(approval).to_be_visible(timeout=30_000)
            await expect(approval).to_contain_text("hello from the browser")
            await expect(page.locator("[data-approvals-count]")).to_have_text("1")  # a host approval
            await shots.take(page, "chat-approval")
            await approval.get_by_role("button", name="Approve once").click()

            # The call's result (collapsed until opened) and the final answer.
            answer = page.locator(".chat-msg.assistant", has_text="All done.")
            await expect(answer).to_contain_text("The echo server answered: hello from the browser.")
            await expect(page.locator("[data-stream]")).to_have_count(0)  # the stored conversation is in
            done_call = page.locator(".chat-call[data-status=ok]", has_text="echo__echo")
            await expect(done_call).to_be_visible()
            await expect(done_call.locator("[data-call-result]")).to_be_hidden()
            await done_call.locator("summary").click()
            await expect(done_call.locator("[data-call-result]")).to_contain_text("hello from the browser")
            await expect(page.locator(".chat-usage").last).to_contain_text("tokens:")
            await expect(page.locator("[data-approvals-count]")).to_be_hidden()
            await expect(page.locator("#chat-list .badge.busy")).to_have_count(0)  # no longer "answering"
            await shots.take(page, "chat-answer", doc="chat")
            tool_message = [m for m in model.requests[1]["messages"] if m["role"] == "tool"]
            assert tool_message[0]["content"] == "hello from the browser"

            # The same conversation is in the list, and every control has a label.
            await page.reload()
            await expect(page.locator(".chat-list")).to_contain_text("Please echo hello from the browser")
            assert await page.evaluate(UNLABELLED) == []
            await page.goto(f"{base}/chat")
            assert await page.evaluate(UNLABELLED) == []

            dark = await browser.new_context(
                viewport={"width": 1280, "height": 860},
                color_scheme="dark",
                storage_state=await context.storage_state(),
            )
            dark_page = await dark.new_page()
            await dark_page.goto(conversation_url)
            await shots.take(dark_page, "chat-dark")
            await dark.close()
        except BaseException:
            await shots.take(page, "chat-failure")
            print(serve.output[-4000:])
            raise
        finally:
            await browser.close()
