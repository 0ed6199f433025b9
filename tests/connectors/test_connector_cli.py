"""``tether connector`` as a user runs it: real processes against the tasks server on 127.0.0.1.

The browser is a small script set as $BROWSER: it follows the authorization URL (the server
approves at once) back to tether's loopback callback.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest
from starlette.applications import Starlette

from tests.connectors.servers import self_signed_certificate, serve_app, serve_tasks

pytestmark = pytest.mark.anyio

BROWSER = "import sys, httpx2; httpx2.get(sys.argv[1], follow_redirects=True, timeout=20)"


async def tether(home: Path, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "TETHER_HOME": str(home),
        "TETHER_CONFIG": str(home / "tether.toml"),
        "TETHER_SECRETS_BACKEND": "file",
        "COLUMNS": "200",
        "NO_COLOR": "1",
        "BROWSER": f"{sys.executable} {home.parent / 'browser.py'} %s",
    }
    with anyio.fail_after(60):
        done = await anyio.run_process([sys.executable, "-m", "tether", *args], env=env, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def test_add_login_list_call_logout_and_remove(tmp_path: Path) -> None:
    (tmp_path / "browser.py").write_text(BROWSER)
    home = tmp_path / "home"
    async with serve_tasks() as server:
        server.quirks.auto_approve_user = "carol"
        code, out, _ = await tether(home, "connector", "add", "tasks", server.mcp_url)
        assert code == 0
        assert "needs sign-in" in out

        code, out, err = await tether(home, "connector", "login", "tasks")
        assert code == 0, err
        assert "signed in" in out
        assert "connected" in out

        code, out, _ = await tether(home, "connector", "list")
        assert "connected" in out
        code, _, err = await tether(home, "policy", "set", "tasks__whoami", "allow")
        assert code == 0, err
        code, out, err = await tether(home, "call", "tasks__whoami", "--no-prompt")
        assert code == 0, err
        assert "carol" in out

        code, out, _ = await tether(home, "connector", "logout", "tasks")
        assert code == 0
        assert "revoked" in out
        assert not server.authority.grants.access
        code, out, _ = await tether(home, "connector", "test", "tasks")
        assert code == 7  # a source error: needs sign-in
        code, out, _ = await tether(home, "connector", "remove", "tasks")
        assert code == 0
        assert b"refresh_token" not in (home / "secrets.enc").read_bytes()


async def test_adding_an_unreachable_connector_says_so(tmp_path: Path) -> None:
    from tether.demo.tasks_server import bind_loopback

    sock = bind_loopback()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    sock.close()
    code, out, _ = await tether(tmp_path / "home", "connector", "add", "gone", url)
    assert code == 0
    assert "error" in out
    code, _, err = await tether(tmp_path / "home", "connector", "test", "gone")
    assert code == 7
    assert "cannot reach" in err


async def test_a_connector_whose_host_does_not_resolve_says_dns(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, out, _ = await tether(home, "connector", "add", "nowhere", "http://no-such-host.invalid/mcp")
    assert code == 0  # added: the name may resolve later
    assert "DNS" in out
    code, _, err = await tether(home, "connector", "test", "nowhere")
    assert code == 7
    assert "DNS" in err
    assert "no-such-host.invalid" in err


async def test_a_connector_with_an_untrusted_certificate_says_tls(tmp_path: Path) -> None:
    tls = self_signed_certificate(tmp_path)
    async with serve_app(lambda _base_url: Starlette(), tls=tls) as base_url:
        home = tmp_path / "home"
        code, out, _ = await tether(home, "connector", "add", "selfsigned", f"{base_url}/mcp")
        assert code == 0
        assert "TLS" in out
        code, _, err = await tether(home, "connector", "test", "selfsigned")
        assert code == 7
        assert "certificate" in err


async def test_static_headers_live_in_the_secret_store_and_export_as_placeholders(tmp_path: Path) -> None:
    home = tmp_path / "home"
    secret, other = "s3cret-token-4f9d2a", "team-7c1e55"
    async with serve_tasks() as server:
        code, _, err = await tether(
            home,
            "connector",
            "add",
            "gw",
            server.mcp_url,
            "--header",
            f"Authorization=Bearer {secret}",
            "--header",
            f"X-Team={other}",
        )
        assert code == 0, err
        code, out, err = await tether(home, "export")
    assert code == 0, err
    assert json.loads(out)["mcpServers"]["gw"]["headers"] == {
        "Authorization": "${GW_AUTHORIZATION}",
        "X-Team": "${GW_X_TEAM}",
    }
    for path in [p for p in home.rglob("*") if p.is_file()] + [tmp_path / "home" / "tether.toml"]:
        if path.exists():
            data = path.read_bytes()
            assert secret.encode() not in data, path
            assert other.encode() not in data, path
    assert (home / "secrets.enc").exists()


async def test_login_reads_oauth_client_metadata_url_and_refuses_a_bad_one(tmp_path: Path) -> None:
    (tmp_path / "browser.py").write_text(BROWSER)
    home = tmp_path / "home"
    async with serve_tasks() as server:
        server.quirks.auto_approve_user = "carol"
        code, _, err = await tether(home, "connector", "add", "tasks", server.mcp_url)
        assert code == 0, err
        (home / "tether.toml").write_text('oauth_client_metadata_url = "http://tether.example/client.json"\n')
        code, _, err = await tether(home, "connector", "login", "tasks")
        assert code == 2
        assert "oauth_client_metadata_url" in err
        assert not server.authority.grants.clients  # refused before anything was registered
        # A good one: the tasks server does not support CIMD, so tether registers itself.
        (home / "tether.toml").write_text(
            'oauth_client_metadata_url = "https://tether.example/client.json"\n'
        )
        code, out, err = await tether(home, "connector", "login", "tasks")
        assert code == 0, err
        assert "signed in" in out
        assert len(server.authority.grants.clients) == 1


async def test_brackets_in_a_url_or_a_servers_words_are_printed_as_text_not_markup(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = "http://127.0.0.1:9/mcp[/]?team=[bold]ops"  # nothing listens on the discard port
    code, out, err = await tether(home, "connector", "add", "odd", url)
    assert code == 0, out + err
    assert "Traceback" not in err
    assert url in out.replace("\n", "")
    code, out, err = await tether(home, "connector", "list")
    assert code == 0, out + err
    assert "[/]" in out
    code, out, err = await tether(home, "connector", "test", "odd")
    assert code == 7, out + err  # source_error, one line, no traceback
    assert "Traceback" not in err
    assert "[bold]ops" in err.replace("\n", "")
