"""Installing, running, configuring, updating and removing extensions through the App.

Bundles are packed with ``pack_bundle`` from the tiny servers in ``ext_servers`` (the same
zips ``mcpb pack`` makes; test_install_interop.py uses the reference CLI itself). Servers
are real Node and Python processes; the store is real SQLite in a temporary data dir.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import anyio
import pytest

from tether.app import App, open_app
from tether.config import Settings
from tether.core.policy import BLOCK_OUTSIDE_GRANTS
from tether.core.storage import ActivityFilter
from tether.errors import SourceUnavailable, UnknownExtension, UpdateFailed
from tether.extensions.layout import DATA_DIR_ENV
from tether.extensions.pack import pack_bundle
from tether.types import Actor, Effect, SourceState

from .ext_servers import (
    CRASHING_SERVER,
    manifest,
    node_extension,
    python_extension,
    settings_manifest,
)

ME = Actor("test", "me")
WAIT_S = 30.0
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def packed(folder: Path) -> Path:
    target = folder.with_suffix(".mcpb")
    target.write_bytes(pack_bundle(folder))
    return target


async def call(app: App, tool: str, arguments: dict[str, object]) -> str:
    """Call through the host with the tool allowed first (new tools ask)."""
    await app.host.set_policy(ME, await app.host.resolve(tool), Effect.ALLOW)
    with anyio.fail_after(WAIT_S):
        result = await app.host.call_tool(ME, tool, arguments)
    assert not result.is_error, result.text
    return result.text


async def kinds(app: App, kind: str) -> list[dict[str, object]]:
    return [dict(r.data) for r in await app.store.records(ActivityFilter(kind=kind))]


@needs_node
async def test_a_node_extension_installs_starts_and_its_tool_runs(tether_app: App, tmp_path: Path) -> None:
    with anyio.fail_after(WAIT_S):
        report = await tether_app.extensions().install_bundle(ME, packed(node_extension(tmp_path / "hello")))
    assert report.started is not None
    assert report.started.status.state is SourceState.RUNNING
    assert report.tools is not None
    assert not report.tools.differs
    assert await call(tether_app, "hello__greet", {"name": "ada"}) == "hello ada from node"
    seen = json.loads(await call(tether_app, "hello__whoami", {}))
    home = tether_app.settings.home
    assert seen["cwd"] == str(home / "extensions" / "hello" / "1.0.0")
    assert seen["data_dir"] == str(home / "extensions" / "hello" / "data")
    assert not any(key.startswith("TETHER_") and key != DATA_DIR_ENV for key in seen["env_keys"])
    installed = await kinds(tether_app, "extension.installed")
    assert installed[0]["version"] == "1.0.0"
    assert installed[0]["signature"] == "unsigned"


async def test_every_tool_of_a_new_extension_asks(tether_app: App, tmp_path: Path) -> None:
    await tether_app.extensions().install_bundle(ME, packed(python_extension(tmp_path / "tiny")))
    decisions = [await tether_app.host.decide(tool) for tool in await tether_app.host.tools(source="tiny")]
    assert {d.effect for d in decisions} == {Effect.ASK}


async def test_a_python_extension_runs_with_its_bundled_lib(tether_app: App, tmp_path: Path) -> None:
    with anyio.fail_after(WAIT_S):
        await tether_app.extensions().install_bundle(ME, packed(python_extension(tmp_path / "tiny-py")))
    assert await call(tether_app, "tiny-py__greet", {"name": "ada"}) == "hello ada from python"


@needs_node
async def test_a_binary_extension_runs_its_bundled_executable(tether_app: App, tmp_path: Path) -> None:
    raw = manifest("wrapped", server_type="binary", mcp_config={"command": "${__dirname}/server/run.sh"})
    raw["server"]["entry_point"] = "server/run.sh"
    folder = node_extension(tmp_path / "wrapped", raw)
    script = folder / "server" / "run.sh"
    script.write_text(f'#!/bin/sh\nexec "{shutil.which("node")}" "$(dirname "$0")/index.js" "$@"\n')
    script.chmod(0o755)
    with anyio.fail_after(WAIT_S):
        await tether_app.extensions().install_bundle(ME, packed(folder))
    assert await call(tether_app, "wrapped__greet", {"name": "ada"}) == "hello ada from node"


async def test_a_uv_extension_runs_with_uv(tether_app: App, tmp_path: Path) -> None:
    commands = tether_app.extensions().commands
    if "uv" not in commands:
        pytest.skip("uv is not installed (it comes with tether's dev dependencies)")
    raw = manifest("uvtiny", server_type="python")
    raw["manifest_version"] = "0.4"
    raw["server"] = {"type": "uv", "entry_point": "server/main.py"}
    folder = python_extension(tmp_path / "uvtiny", raw)
    (folder / "server" / "tinyhelper.py").write_text((folder / "server/lib/tinyhelper.py").read_text())
    shutil.rmtree(folder / "server" / "lib")
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "uvtiny"\nversion = "1.0.0"\nrequires-python = ">=3.10"\ndependencies = []\n'
    )
    with anyio.fail_after(120):
        report = await tether_app.extensions().install_bundle(ME, packed(folder))
    assert report.started is not None, report
    assert report.started.status.state is SourceState.RUNNING, report.started.status
    assert await call(tether_app, "uvtiny__greet", {"name": "ada"}) == "hello ada from python"
    assert (tether_app.settings.home / "extensions" / "uvtiny" / "uv-env").is_dir()


@needs_node
async def test_sensitive_settings_reach_the_server_but_never_the_database_or_the_log(
    tether_app: App, tmp_path: Path
) -> None:
    root = tmp_path / "work"
    root.mkdir()
    (root / "notes.txt").write_text("x")
    bundle = packed(node_extension(tmp_path / "keyed", settings_manifest("keyed")))
    with anyio.fail_after(WAIT_S):
        await tether_app.extensions().install_bundle(
            ME, bundle, settings={"api_key": ["s3cret-value"], "root": [str(root)]}
        )
    seen = json.loads(await call(tether_app, "keyed__whoami", {}))
    assert seen["api_key_sha256"] == hashlib.sha256(b"s3cret-value").hexdigest()
    assert seen["args"] == [f"--root={root}"]
    assert await call(tether_app, "keyed__list_dir", {"path": str(root)}) == "notes.txt"
    installed = await kinds(tether_app, "extension.installed")
    assert installed[0]["settings"] == {"api_key": "[redacted]", "root": str(root)}
    database = (tether_app.settings.home / "tether.db").read_bytes()
    wal = tether_app.settings.home / "tether.db-wal"
    assert b"s3cret-value" not in database + (wal.read_bytes() if wal.exists() else b"")
    log = (tether_app.settings.log_dir / "keyed.log").read_text()
    assert "s3cret-value" not in log


@needs_node
async def test_directory_settings_are_the_grants_of_the_path_rule(tether_app: App, tmp_path: Path) -> None:
    root = tmp_path / "work"
    root.mkdir()
    bundle = packed(node_extension(tmp_path / "keyed", settings_manifest("keyed")))
    await tether_app.extensions().install_bundle(ME, bundle, settings={"api_key": ["k"], "root": [str(root)]})
    await tether_app.host.set_rule(ME, BLOCK_OUTSIDE_GRANTS.name, is_on=True)
    tool = await tether_app.host.resolve("keyed__list_dir")
    assert (await tether_app.host.decide(tool, {"path": str(root / "a")})).effect is Effect.ASK
    assert (await tether_app.host.decide(tool, {"path": "/etc"})).effect is Effect.BLOCK


@needs_node
async def test_missing_required_settings_install_it_without_starting_it(
    tether_app: App, tmp_path: Path
) -> None:
    bundle = packed(node_extension(tmp_path / "keyed", settings_manifest("keyed")))
    report = await tether_app.extensions().install_bundle(ME, bundle)
    assert [option.key for option in report.missing] == ["api_key", "root"]
    assert report.started is None
    await tether_app.start_sources()
    status = tether_app.host.source("keyed").status
    assert status.state is SourceState.NEEDS_SETTINGS
    assert "api_key" in status.detail
    assert "tether ext config keyed" in status.detail
    with pytest.raises(SourceUnavailable):
        await tether_app.host.source("keyed").call_tool("greet", {"name": "x"})

    root = tmp_path / "work"
    root.mkdir()
    with anyio.fail_after(WAIT_S):
        configured = await tether_app.extensions().configure(
            ME, "keyed", {"api_key": ["k"], "root": [str(root)]}
        )
    assert configured.started is not None
    assert configured.started.status.state is SourceState.RUNNING
    assert await call(tether_app, "keyed__greet", {"name": "ada"}) == "hello ada from node"
    changes = await kinds(tether_app, "extension.configured")
    assert changes[0]["changed"] == {"api_key": "[redacted]", "root": str(root)}


@needs_node
async def test_a_server_that_crashes_on_start_is_installed_and_its_status_shows_its_stderr(
    tether_app: App, tmp_path: Path
) -> None:
    bundle = packed(node_extension(tmp_path / "crashy", server=CRASHING_SERVER))
    with anyio.fail_after(WAIT_S):
        report = await tether_app.extensions().install_bundle(ME, bundle)
    assert report.started is not None
    assert report.started.status.state is not SourceState.RUNNING
    assert "fatal: cannot reach the database at db.invalid" in report.started.status.stderr_tail
    assert [e.id for e in await tether_app.store.list_extensions()] == ["crashy"]


@needs_node
async def test_tools_that_differ_from_the_manifest_are_flagged(tether_app: App, tmp_path: Path) -> None:
    raw = manifest("liar", tools=[{"name": "greet"}, {"name": "delete_everything"}])
    with anyio.fail_after(WAIT_S):
        report = await tether_app.extensions().install_bundle(
            ME, packed(node_extension(tmp_path / "liar", raw))
        )
    assert report.tools is not None
    assert report.tools.undeclared == ("list_dir", "whoami")
    assert report.tools.not_listed == ("delete_everything",)
    flagged = await kinds(tether_app, "extension.tools_differ")
    assert flagged == [
        {"undeclared": ["list_dir", "whoami"], "not_listed": ["delete_everything"], "tools_generated": False}
    ]


@needs_node
async def test_an_update_keeps_settings_and_replaces_the_files(tether_app: App, tmp_path: Path) -> None:
    root = tmp_path / "work"
    root.mkdir()
    installer = tether_app.extensions()
    first = packed(node_extension(tmp_path / "v1" / "keyed", settings_manifest("keyed")))
    second = packed(node_extension(tmp_path / "v2" / "keyed", settings_manifest("keyed", version="2.0.0")))
    with anyio.fail_after(WAIT_S):
        await installer.install_bundle(ME, first, settings={"api_key": ["k"], "root": [str(root)]})
        report = await installer.update_bundle(ME, second)
    assert report.previous_version == "1.0.0"
    assert report.started is not None
    assert report.started.status.state is SourceState.RUNNING
    seen = json.loads(await call(tether_app, "keyed__whoami", {}))
    assert seen["cwd"].endswith("/keyed/2.0.0")
    assert seen["api_key_sha256"] == hashlib.sha256(b"k").hexdigest()
    folder = tether_app.settings.home / "extensions" / "keyed"
    assert sorted(p.name for p in folder.iterdir()) == ["2.0.0", "data"]
    updated = await kinds(tether_app, "extension.updated")
    assert updated[0]["previous_version"] == "1.0.0"
    assert updated[0]["outcome"] == "updated"


@needs_node
async def test_an_update_that_does_not_start_puts_the_old_version_back(
    tether_app: App, tmp_path: Path
) -> None:
    installer = tether_app.extensions()
    good = packed(node_extension(tmp_path / "v1" / "hello"))
    broken = packed(
        node_extension(tmp_path / "v2" / "hello", manifest("hello", version="2.0.0"), server=CRASHING_SERVER)
    )
    with anyio.fail_after(WAIT_S):
        await installer.install_bundle(ME, good)
        with pytest.raises(UpdateFailed) as failure:
            await installer.update_bundle(ME, broken)
    assert failure.value.code == "update_failed"
    assert "cannot reach the database" in str(failure.value)
    assert (await tether_app.store.get_extension("hello")).version == "1.0.0"
    assert tether_app.host.source("hello").status.state is SourceState.RUNNING
    assert await call(tether_app, "hello__greet", {"name": "ada"}) == "hello ada from node"
    folder = tether_app.settings.home / "extensions" / "hello"
    assert sorted(p.name for p in folder.iterdir()) == ["1.0.0", "data"]
    rows = await kinds(tether_app, "extension.updated")
    assert rows[0]["outcome"] == "rolled_back"


@needs_node
async def test_remove_deletes_files_and_secrets_and_keeps_the_activity(
    tether_app: App, tmp_path: Path
) -> None:
    root = tmp_path / "work"
    root.mkdir()
    bundle = packed(node_extension(tmp_path / "keyed", settings_manifest("keyed")))
    with anyio.fail_after(WAIT_S):
        await tether_app.extensions().install_bundle(
            ME, bundle, settings={"api_key": ["k"], "root": [str(root)]}
        )
        await call(tether_app, "keyed__greet", {"name": "ada"})
        await tether_app.extensions().remove_extension(ME, "keyed")
    assert not (tether_app.settings.home / "extensions" / "keyed").exists()
    assert tether_app.secrets.get_secret("extension/keyed/setting/api_key") is None
    assert "keyed" not in {s.name for s in await tether_app.store.list_sources()}
    with pytest.raises(UnknownExtension):
        await tether_app.store.get_extension("keyed")
    assert await kinds(tether_app, "extension.installed")
    assert await kinds(tether_app, "extension.removed") == [{"version": "1.0.0"}]
    assert [r.kind for r in await tether_app.store.records(ActivityFilter(kind="tool.called"))] == [
        "tool.called"
    ]
    assert (await tether_app.store.verify()).is_intact


@needs_node
async def test_a_disabled_extension_is_installed_but_not_started(tether_app: App, tmp_path: Path) -> None:
    await tether_app.extensions().install_bundle(ME, packed(node_extension(tmp_path / "hello")), start=False)
    await tether_app.set_enabled(ME, "hello", is_enabled=False)
    await tether_app.start_sources()
    assert "hello" not in tether_app.host.statuses()


async def test_the_stored_settings_hold_no_sensitive_value(tether_app: App, tmp_path: Path) -> None:
    bundle = packed(node_extension(tmp_path / "keyed", settings_manifest("keyed")))
    await tether_app.extensions().install_bundle(ME, bundle, settings={"api_key": ["k-123"]}, start=False)
    with sqlite3.connect(tether_app.settings.home / "tether.db") as db:
        (settings,) = db.execute("SELECT settings FROM extensions WHERE id = 'keyed'").fetchone()
    assert json.loads(settings) == {}
    assert tether_app.secrets.get_secret("extension/keyed/setting/api_key") == '"k-123"'


@needs_node
async def test_removing_its_source_removes_the_extension(tether_app: App, tmp_path: Path) -> None:
    await tether_app.extensions().install_bundle(ME, packed(node_extension(tmp_path / "hello")), start=False)
    await tether_app.remove_source(ME, "hello")
    assert await tether_app.store.list_extensions() == []
    assert not (tether_app.settings.home / "extensions" / "hello").exists()


@needs_node
async def test_a_running_app_picks_up_settings_changed_by_another_process(
    tether_app: App, settings: Settings, tmp_path: Path
) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    bundle = packed(node_extension(tmp_path / "keyed", settings_manifest("keyed")))
    with anyio.fail_after(WAIT_S):
        await tether_app.extensions().install_bundle(
            ME, bundle, settings={"api_key": ["k"], "root": [str(first)]}
        )
        async with open_app(settings) as other:  # e.g. `tether ext config` while `tether serve` runs
            await other.extensions().configure(ME, "keyed", {"root": [str(second)]}, start=False)
        await tether_app.reconcile()
    seen = json.loads(await call(tether_app, "keyed__whoami", {}))
    assert seen["args"] == [f"--root={second}"]
