"""In a real browser: adding a connector that signs in as this app (client credentials).

The key fields show only once "this app" is chosen; the form goes as multipart (htmx), the
connector gets its token without a browser sign-in, and the secret never reaches the page.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.connectors.servers import serve_tasks
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, STEP_MS, serve_env, tether_serve

SECRET = "robot-browser-secret-4411"

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium"),
]


async def test_a_person_adds_a_connector_that_signs_in_as_this_app(tmp_path: Path) -> None:
    playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is missing")
    expect = playwright_api.expect
    expect.set_options(timeout=STEP_MS)
    env = serve_env(tmp_path)
    async with (
        serve_tasks() as tasks,
        tether_serve(env) as serve,
        playwright_api.async_playwright() as pw,
    ):
        tasks.authority.register_service_client("robot", SECRET)
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            page.set_default_timeout(STEP_MS)
            await page.goto(serve.login_url)
            base = serve.login_url.split("/login")[0]
            await page.goto(f"{base}/connectors")
            form = page.locator("#connector-form")
            await form.get_by_label("Name").fill("tasks")
            await form.get_by_label("URL").fill(tasks.mcp_url)
            await form.get_by_text("Advanced").click()
            key = form.get_by_label("Private key file")
            await expect(key).to_be_hidden()
            await form.get_by_label("this app (client credentials)", exact=False).check()
            await expect(key).to_be_visible()
            await form.get_by_label("OAuth client id").fill("robot")
            await form.get_by_label("OAuth client secret").fill(SECRET)
            await form.get_by_role("button", name="Add connector").click()
            card = page.locator("#connector-tasks")
            await expect(card.locator("[data-status]")).to_have_text("connected")
            await expect(card).to_contain_text("signs in as this app")
            assert SECRET not in await page.content()
            assert tasks.authority.client_credentials_count >= 1
            await card.get_by_role("button", name="Remove tasks").click()
            await expect(page.locator("#connector-tasks")).to_have_count(0)
        finally:
            await browser.close()
