"""``tether model`` and ``tether chat`` as a user runs them: real processes, a real data dir, and a
scripted OpenAI-compatible server on 127.0.0.1 standing in for the model."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from tests.chat.openai_server import ChatServer, Reply
from tests.connectors.servers import serve_app
from tests.test_cli import ECHO
from tests.test_cli import Tether as CliTether

KEY = "sk-cli-secret-0123456789"


class Tether(CliTether):
    """The CLI helper of tests/test_cli.py, plus a non-blocking run for tests that serve a model."""

    async def run(self, *args: str, input: str = "") -> subprocess.CompletedProcess[str]:
        """The same, without blocking the event loop (a server in this process must keep answering)."""
        with anyio.fail_after(60):
            done = await anyio.run_process(
                [sys.executable, "-m", "tether", *args], input=input.encode(), env=self.env, check=False
            )
        return subprocess.CompletedProcess(
            done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
        )


@pytest.fixture
def tether(tmp_path: Path) -> Tether:
    return Tether(tmp_path / "home")


def test_without_a_model_chat_says_how_to_add_one(tether: Tether) -> None:
    done = tether("chat", "--message", "hello", check=False)
    assert done.returncode == 2
    assert "tether model add" in done.stderr
    assert "gateway" in done.stderr
    assert "Traceback" not in done.stderr


def test_model_add_asks_for_the_key_and_keeps_it_out_of_the_database(tether: Tether) -> None:
    done = tether(
        "model", "add", "claude", "--provider", "anthropic", "--model", "claude-x", input=KEY + "\n"
    )
    assert "the default" in done.stdout
    listed = tether("model", "list").stdout
    assert "claude" in listed
    assert "secret store" in listed
    assert KEY not in listed
    for path in tether.home.glob("tether.db*"):
        assert KEY.encode() not in path.read_bytes()
    tether("model", "remove", "claude")


async def test_a_chat_turn_in_the_terminal_streams_asks_inline_and_is_kept(tether: Tether) -> None:
    await tether.run("source", "add", "echo", "--", *ECHO)
    server = ChatServer(
        [
            Reply("Let me echo that. ", tool="echo__echo", arguments={"text": "from the terminal"}),
            Reply("Echoed!"),
        ]
    )
    async with serve_app(lambda _: server.app()) as base_url:
        added = await tether.run(
            "model",
            "add",
            "local",
            "--provider",
            "openai-compatible",
            "--model",
            "m",
            "--base-url",
            f"{base_url}/v1",
        )
        assert added.returncode == 0, added.stderr
        done = await tether.run("chat", "--message", "echo something", "--prompt", input="o\n")

    assert done.returncode == 0, done.stderr
    assert "Let me echo that." in done.stdout
    assert "echo__echo" in done.stdout  # the inline approval prompt
    assert "Echoed!" in done.stdout
    assert "tokens:" in done.stdout
    tool_message = [m for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert tool_message[0]["content"] == "from the terminal"

    listed = (await tether.run("chat", "list")).stdout
    assert "echo something" in listed
    [conversation_id] = re.findall(r"\b[0-9a-f]{12}\b", listed)
    shown = (await tether.run("chat", "show", conversation_id)).stdout
    assert "echo__echo: ok · activity #" in shown
    exported = (await tether.run("chat", "export", conversation_id)).stdout
    assert exported.startswith("# echo something")
