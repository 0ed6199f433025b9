"""End to end in a real browser: Playwright drives Debian's Chromium against a real ``tether serve``.

One session, as a person would use it: sign in with the printed link, install a bundle by
upload and fill its settings, find the reference tasks server in the directory and connect it
through OAuth, flip a tool to Always allow, approve a call a CLI process waits on, find it in
Activity. Each step saves
a screenshot under test-artifacts/browser/ (TETHER_UPDATE_SCREENSHOTS=1 refreshes docs/screenshots/).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import anyio.abc
import pytest

from tests.connectors.registry_server import record, serve_registry
from tests.connectors.servers import serve_tasks
from tests.extensions.ext_servers import python_extension
from tests.web.test_extensions import keyed_manifest
from tether.extensions.pack import pack_bundle

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
START_S = 30.0
STEP_MS = 15_000
LOGIN_URL = re.compile(r"http://\S+/login\?token=\S+")

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install chromium"),
]


class Serve:
    """``tether serve`` in a child process; ``output`` collects what it prints."""

    def __init__(self, process: anyio.abc.Process) -> None:
        self.process = process
        self.output = ""
        self.login_url = ""


@asynccontextmanager
async def tether_serve(env: dict[str, str]) -> AsyncGenerator[Serve]:
    command = [sys.executable, "-m", "tether", "serve", "--port", "0"]
    async with await anyio.open_process(command, env=env, stderr=subprocess.STDOUT) as process:
        serve = Serve(process)
        assert process.stdout is not None
        stdout = process.stdout
        async with anyio.create_task_group() as tg:
            found = anyio.Event()

            async def read() -> None:
                async for chunk in stdout:
                    serve.output += chunk.decode(errors="replace")
                    match = LOGIN_URL.search(serve.output)
                    if match and not found.is_set():
                        serve.login_url = match.group(0)
                        found.set()

            tg.start_soon(read)
            with anyio.fail_after(START_S):
                await found.wait()
            try:
                yield serve
            finally:
                process.terminate()
                with anyio.move_on_after(10, shield=True):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
                tg.cancel_scope.cancel()


UNLABELLED = """() => Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea"))
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label"))
  .map((el) => el.name || el.id || el.outerHTML.slice(0, 80))"""


class Shots:
    def __init__(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self.update_docs = os.environ.get("TETHER_UPDATE_SCREENSHOTS") == "1"

    async def take(self, page: object, name: str, *, doc: str | None = None) -> None:
        from playwright.async_api import Page

        assert isinstance(page, Page)
        self.count += 1
        path = ARTIFACTS / f"{self.count:02d}-{name}.png"
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=str(path), full_page=True)
        if doc and self.update_docs:  # the docs show what fits a window
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(DOCS_SCREENSHOTS / f"{doc}.png"))


def serve_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a ``tether serve`` on its own data dir under ``tmp_path``."""
    return {
        **os.environ,
        "TETHER_HOME": str(tmp_path / "home"),
        "TETHER_CONFIG": str(tmp_path / "tether.toml"),
        "TETHER_SECRETS_BACKEND": "file",
        "TETHER_START_TIMEOUT_S": "15",
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "200",
    }


async def test_a_person_installs_connects_allows_approves_and_audits(tmp_path: Path) -> None:
    playwright_api = pytest.importorskip("playwright.async_api", reason="the playwright package is missing")
    expect = playwright_api.expect
    expect.set_options(timeout=STEP_MS)
    env = serve_env(tmp_path)
    bundle = tmp_path / "keyed.mcpb"
    bundle.write_bytes(pack_bundle(python_extension(tmp_path / "keyed", keyed_manifest())))
    notes = tmp_path / "notes"
    notes.mkdir()
    shots = Shots()

    async with (
        serve_tasks() as tasks,
        serve_registry() as registry,
        tether_serve({**env, "TETHER_DIRECTORY_REGISTRY_URL": registry.base_url}) as serve,
        playwright_api.async_playwright() as pw,
    ):
        registry.publish(record("io.github.acme/tasks", title="Acme tasks", remote=tasks.mcp_url))
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1280, "height": 860}, color_scheme="light")
        context.set_default_timeout(STEP_MS)
        page = await context.new_page()
        try:
            # Sign in with the link `tether serve` printed.
            await page.goto(serve.login_url)
            await expect(page.get_by_role("heading", name="Extensions")).to_be_visible()
            base = serve.login_url.split("/login")[0]

            # Install a bundle by upload: a preview first, then the settings it needs.
            await page.set_input_files("#bundle-file", str(bundle))
            await expect(page.locator(".preview")).to_contain_text("Root folder")
            await shots.take(page, "extension-preview", doc="extension-preview")
            await page.get_by_role("button", name="Install Keyed").click()
            await page.wait_for_url(re.compile(r"/extensions\?open=keyed"))
            card = page.locator("#extension-keyed")
            await expect(card.locator("[data-status]")).to_have_text("needs settings")
            await card.get_by_label("API key").fill("sk-browser-secret-1234")
            await card.get_by_label("Root folder").fill(str(notes / "missing"))
            await card.get_by_role("button", name="Save settings").click()
            await expect(card.locator(".field-error")).to_contain_text("directory")  # bad input: field error
            await shots.take(page, "extension-field-error")
            await card.get_by_label("API key").fill("sk-browser-secret-1234")
            await card.get_by_label("Root folder").fill(str(notes))
            await card.get_by_role("button", name="Save settings").click()
            await expect(card.locator("[data-status]")).to_have_text("running")
            assert "sk-browser-secret-1234" not in await page.content()
            await shots.take(page, "extension-running", doc="extensions")

            # Find the reference tasks server in the directory and connect it through OAuth here.
            await page.goto(f"{base}/connectors")
            await expect(page.locator("#directory-results .entry").first).to_be_visible()
            await page.get_by_label("Search").fill("acme")
            entry = page.locator(".entry", has_text="Acme tasks")
            await expect(entry).to_contain_text("MCP Registry")
            await expect(page.locator("#directory-results .entry")).to_have_count(1)
            await shots.take(page, "directory")
            await entry.get_by_role("button", name="Connect Acme tasks").click()
            await page.wait_for_url(re.compile(r"/consent"))
            await shots.take(page, "oauth-consent")
            await page.get_by_label("Your name").fill("ann")
            await page.get_by_role("button", name="Allow").click()
            await expect(page.get_by_role("heading", name="Connected")).to_be_visible()
            await page.wait_for_url(f"{base}/connectors")
            await expect(page.locator("#connector-tasks [data-status]")).to_have_text("connected")
            await page.get_by_label("Search").fill("")
            await expect(page.locator(".entry", has_text="Acme tasks")).to_contain_text("Added as tasks")
            await shots.take(page, "connector-connected", doc="connectors")

            # Flip a tool to Always allow.
            await page.goto(f"{base}/tools")
            row = page.locator(".tool", has=page.get_by_text("tasks__list_projects", exact=True))
            await row.get_by_text("Always allow", exact=True).click()
            await expect(row.locator("input[value=allow]")).to_be_checked()
            await expect(row.locator(".why")).to_contain_text("is always allowed")
            await shots.take(page, "tools", doc="tools")

            # A CLI process asks for a call; its approval appears here live; approve it.
            call = await anyio.open_process(
                [
                    sys.executable,
                    "-m",
                    "tether",
                    "call",
                    "tasks__create_task",
                    "--args",
                    '{"title": "approved in the browser"}',
                    "--no-prompt",
                ],
                env=env,
                stderr=subprocess.STDOUT,
            )
            async with call:
                approval = page.locator(".approval", has_text="tasks__create_task")
                await expect(approval).to_be_visible(timeout=30_000)  # live, on the page that was open
                await expect(approval).to_contain_text("approved in the browser")
                await expect(page.locator("[data-approvals-count]")).to_have_text("1")
                await shots.take(page, "approval-live")
                await page.goto(f"{base}/approvals")
                approval = page.locator(".approval", has_text="tasks__create_task")
                await shots.take(page, "approvals", doc="approvals")
                await approval.get_by_role("button", name="Approve once").click()
                await expect(page.locator(".approval.decided")).to_contain_text("approved once")
                with anyio.fail_after(30):
                    await call.wait()
                assert call.stdout is not None
                printed = (await call.stdout.receive()).decode(errors="replace")
            assert call.returncode == 0, printed
            assert "approved in the browser" in printed

            # See it in Activity, with its details.
            await page.goto(f"{base}/activity?kind=tool.called")
            first_row = page.locator("tbody tr").first
            await expect(first_row).to_contain_text("tasks__create_task")
            await expect(first_row).to_contain_text("approved_once")
            await expect(page.locator("#verify")).to_contain_text("chain intact")
            await page.goto(f"{base}/activity")
            await shots.take(page, "activity", doc="activity")
            await page.goto(f"{base}/activity?kind=tool.called")
            await page.locator("tbody tr").first.locator("a").first.click()
            await expect(page.get_by_role("heading", name=re.compile("tool.called"))).to_be_visible()
            await expect(page.locator("pre")).to_contain_text("approved in the browser")
            await shots.take(page, "activity-details")

            # Every control on every page has a label (screen readers, and clicking the text).
            for path in ("/extensions", "/connectors", "/tools", "/approvals", "/activity"):
                await page.goto(f"{base}{path}")
                assert await page.evaluate(UNLABELLED) == [], path

            # The same screens in the dark.
            dark = await browser.new_context(
                viewport={"width": 1280, "height": 860},
                color_scheme="dark",
                storage_state=await context.storage_state(),
            )
            dark_page = await dark.new_page()
            await dark_page.goto(f"{base}/tools")
            await shots.take(dark_page, "tools-dark", doc="tools-dark")
            await dark.close()
        except BaseException:
            await shots.take(page, "failure")
            print(serve.output[-4000:])
            raise
        finally:
            await browser.close()
