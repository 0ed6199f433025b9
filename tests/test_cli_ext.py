"""``tether ext`` as a user runs it: bundles packed by the reference ``mcpb`` CLI, installed,
configured, called through ``tether call``, updated and removed, each command a real process."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Generator
from pathlib import Path

import pytest

from tests.extensions.ext_servers import (
    CRASHING_SERVER,
    manifest,
    node_extension,
    python_extension,
    settings_manifest,
)
from tests.mcpb_cli import Mcpb
from tests.test_cli import Tether

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def tether(tmp_path: Path) -> Tether:
    return Tether(tmp_path / "home")


def mcpb_pack(mcpb: Mcpb, folder: Path) -> Path:
    target = folder.with_suffix(".mcpb")
    mcpb.run("pack", folder, target, cwd=folder.parent)
    return target


def listed(tether: Tether) -> list[dict[str, object]]:
    return json.loads(tether("ext", "list", "--json").stdout)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        del format, args


@pytest.fixture
def web_root(tmp_path: Path) -> Generator[tuple[Path, str]]:
    """A folder served over http on 127.0.0.1, and its base URL."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_an_mcpb_bundle_with_settings_installs_is_configured_and_its_tool_is_called(
    mcpb: Mcpb, tether: Tether, tmp_path: Path
) -> None:
    root = tmp_path / "projects"
    (root / "alpha").mkdir(parents=True)
    bundle = mcpb_pack(mcpb, node_extension(tmp_path / "keyed", settings_manifest("keyed")))

    installed = tether("ext", "install", str(bundle)).stdout
    assert "installed keyed 1.0.0" in installed
    assert "tools it declares: greet, whoami, list_dir" in installed
    assert "not started" in installed
    assert "api_key" in installed

    configured = tether("ext", "config", "keyed", "--set", "api_key=sk-cli-secret", "--set", f"root={root}")
    assert "running: lists 3 tools" in configured.stdout

    called = tether(
        "call", "keyed__list_dir", "--args", json.dumps({"path": str(root)}), "--prompt", input="o\n"
    )
    assert "alpha" in called.stdout

    info = json.loads(tether("ext", "info", "keyed", "--json", "--no-start").stdout)
    assert info["settings"]["api_key"] == "[redacted]"
    assert info["settings"]["root"] == str(root)
    assert info["listed_tools"] == ["greet", "list_dir", "whoami"]

    activity = tether("activity", "--json").stdout
    kinds = [json.loads(line)["kind"] for line in activity.splitlines()]
    assert {"extension.installed", "extension.configured", "tool.called"} <= set(kinds)
    assert "sk-cli-secret" not in activity

    tether("ext", "remove", "keyed")
    assert listed(tether) == []
    assert not (tether.home / "extensions" / "keyed").exists()
    assert "extension.removed" in tether("activity", "--json").stdout
    assert "intact" in tether("activity", "verify").stdout


def test_a_python_bundle_installs_from_a_url(
    mcpb: Mcpb, tether: Tether, tmp_path: Path, web_root: tuple[Path, str]
) -> None:
    folder, base = web_root
    bundle = mcpb_pack(mcpb, python_extension(tmp_path / "hello-python"))
    bundle.rename(folder / bundle.name)

    done = tether("ext", "install", f"{base}/hello-python.mcpb")
    assert "running: lists 3 tools" in done.stdout
    called = tether("call", "hello-python__greet", "--args", '{"name": "ada"}', "--prompt", input="o\n")
    assert "hello ada from python" in called.stdout

    missing = tether("ext", "install", f"{base}/nothing.mcpb", check=False)
    assert missing.returncode == 2
    assert "404" in missing.stderr


def test_config_asks_for_missing_settings_until_they_are_valid(tether: Tether, tmp_path: Path) -> None:
    root = tmp_path / "work"
    root.mkdir()
    bundle = tmp_path / "keyed.mcpb"
    tether(
        "ext", "pack", str(node_extension(tmp_path / "keyed", settings_manifest("keyed"))), "-o", str(bundle)
    )
    tether("ext", "install", str(bundle))

    answers = f"sk-typed\n{tmp_path / 'nowhere'}\n{root}\n"
    done = tether("ext", "config", "keyed", "--prompt", input=answers)
    assert "no directory at" in done.stdout
    assert "running: lists 3 tools" in done.stdout
    assert "sk-typed" not in done.stdout


def test_a_bad_bundle_is_one_line_of_error_and_installs_nothing(tether: Tether, tmp_path: Path) -> None:
    bundle = tmp_path / "broken.mcpb"
    bundle.write_text("not a zip")
    done = tether("ext", "install", str(bundle), check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("error: not a valid zip archive")
    assert "Traceback" not in done.stderr
    assert listed(tether) == []


def test_two_installs_of_one_bundle_at_once_install_it_once(tether: Tether, tmp_path: Path) -> None:
    bundle = tmp_path / "hello.mcpb"
    tether("ext", "pack", str(node_extension(tmp_path / "hello")), "-o", str(bundle))
    tether("ext", "list")  # the database exists before the race
    racers = [tether.popen("ext", "install", str(bundle), "--no-start") for _ in range(2)]
    results = [racer.communicate(timeout=120) for racer in racers]
    codes = sorted(racer.returncode for racer in racers)
    assert codes[0] == 0, results
    assert codes[1] in (4, 6), results  # already exists, or another tether is installing it
    assert [row["id"] for row in listed(tether)] == ["hello"]


def test_an_update_that_does_not_start_leaves_the_old_version_running(tether: Tether, tmp_path: Path) -> None:
    good, broken = tmp_path / "v1.mcpb", tmp_path / "v2.mcpb"
    tether("ext", "pack", str(node_extension(tmp_path / "v1" / "hello")), "-o", str(good))
    folder = node_extension(
        tmp_path / "v2" / "hello", manifest("hello", version="2.0.0"), server=CRASHING_SERVER
    )
    tether("ext", "pack", str(folder), "-o", str(broken))
    tether("ext", "install", str(good))

    done = tether("ext", "update", str(broken), check=False)
    assert done.returncode == 7
    assert "did not start" in done.stderr
    assert "1.0.0 is back in place and running" in done.stderr
    assert [row["version"] for row in listed(tether)] == ["1.0.0"]
    called = tether("call", "hello__greet", "--args", '{"name": "ada"}', "--prompt", input="o\n")
    assert "hello ada from node" in called.stdout


def test_bundles_packed_by_tether_pass_the_reference_cli(mcpb: Mcpb, tether: Tether, tmp_path: Path) -> None:
    bundle = tmp_path / "out.mcpb"
    tether("ext", "pack", str(python_extension(tmp_path / "hello-python")), "-o", str(bundle))
    assert "valid bundle of Hello Python 1.0.0" in tether("ext", "validate", str(bundle)).stdout
    assert "File: out.mcpb" in mcpb.run("info", bundle, cwd=tmp_path).stdout
    mcpb.run("unpack", bundle, tmp_path / "unpacked", cwd=tmp_path)
    mcpb.run("validate", tmp_path / "unpacked" / "manifest.json", cwd=tmp_path)
    from_mcpb = mcpb_pack(mcpb, node_extension(tmp_path / "hello-node"))
    assert "valid bundle" in tether("ext", "validate", str(from_mcpb)).stdout


def test_a_server_that_crashes_on_start_shows_its_last_stderr_lines(tether: Tether, tmp_path: Path) -> None:
    bundle = tmp_path / "crashy.mcpb"
    tether("ext", "pack", str(node_extension(tmp_path / "crashy", server=CRASHING_SERVER)), "-o", str(bundle))
    installed = tether("ext", "install", str(bundle))
    assert "did not start" in installed.stdout
    assert "fatal: cannot reach the database at db.invalid" in installed.stdout
    info = json.loads(tether("ext", "info", "crashy", "--json").stdout)
    assert info["status"]["state"] != "running"
    assert "fatal: cannot reach the database at db.invalid" in info["status"]["stderr_tail"]
