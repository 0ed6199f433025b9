"""Team mode as people run it: tether processes with data dirs of their own on one PostgreSQL.

What they share goes through the database (sources, policies, approvals, the activity log);
the password in the database URL is never shown.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
import anyio.abc
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from tests.test_cli import ECHO, Tether
from tether.app import DATABASE_PASSWORD_SECRET, store_location
from tether.config import load_settings
from tether.store.secrets import open_secret_store

CALLER = Path(__file__).with_name("team_caller.py")
CALLS = 40
PASSWORD = "hunter2-secret"


def _replica(home: Path, database_url: str) -> Tether:
    replica = Tether(home)
    replica.env["TETHER_DATABASE_URL"] = database_url
    return replica


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url


@pytest.fixture
def alice(tmp_path: Path, database_url: str) -> Tether:
    return _replica(tmp_path / "alice", database_url)


@pytest.fixture
def bob(tmp_path: Path, database_url: str) -> Tether:
    return _replica(tmp_path / "bob", database_url)


def _with_password(url: str) -> str:
    # The test cluster trusts local connections, so any password gets in.
    return url.replace("postgres@", f"postgres:{PASSWORD}@")


def test_a_call_waiting_on_one_replica_is_approved_from_the_other(alice: Tether, bob: Tether) -> None:
    alice("source", "add", "echo", "--", *ECHO)
    waiting = alice.popen("call", "echo__echo", "--args", '{"text": "from afar"}', "--no-prompt")
    try:
        assert waiting.stderr is not None
        notice = waiting.stderr.readline()  # bounded by the approval timeout set in the env
        assert "tether approvals approve" in notice, notice
        approval_id = notice.split()[1]
        assert approval_id in bob("approvals", "list").stdout
        bob("approvals", "approve", approval_id)
        out, err = waiting.communicate(timeout=30)
        assert waiting.returncode == 0, err
        assert "from afar" in out
        assert bob("approvals", "approve", approval_id, check=False).returncode == 6  # decided already
    finally:
        waiting.kill()
        waiting.communicate()
    rows = [json.loads(line) for line in bob("activity", "--json").stdout.splitlines()]
    called = [r for r in rows if r["kind"] == "tool.called"]
    assert called[-1]["data"]["verdict"] == "approved_once"
    assert not list(alice.home.glob("tether.db*")) + list(bob.home.glob("tether.db*"))  # no SQLite


async def test_calls_on_two_replicas_at_once_keep_one_intact_activity_chain(
    alice: Tether, bob: Tether
) -> None:
    alice("source", "add", "echo", "--", *ECHO)
    bob("policy", "set", "echo__echo", "allow")
    summaries: dict[str, dict[str, int]] = {}
    with anyio.fail_after(120):
        async with await _start_caller(alice, "alice") as a, await _start_caller(bob, "bob") as b:
            callers = {"alice": a, "bob": b}
            outputs = {name: BufferedByteReceiveStream(_stdout(p)) for name, p in callers.items()}
            for name, output in outputs.items():
                assert await _line(output, callers[name]) == b"ready"
            for process in callers.values():  # both are ready: now they call at the same time
                assert process.stdin is not None
                await process.stdin.send(b"go\n")
            for name, output in outputs.items():
                summaries[name] = json.loads(await _line(output, callers[name]))
                assert await callers[name].wait() == 0
    assert summaries == {"alice": {"answered": CALLS}, "bob": {"answered": CALLS}}
    verified = alice("activity", "verify").stdout
    assert "intact" in verified
    rows = [json.loads(line) for line in bob("activity", "--json", "--limit", "1000").stdout.splitlines()]
    calls = [r for r in rows if r["kind"] == "tool.called"]
    assert sorted(r["actor"] for r in calls) == sorted(["replica:alice"] * CALLS + ["replica:bob"] * CALLS)
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)


def test_doctor_names_the_database_without_its_password(alice: Tether, database_url: str) -> None:
    alice.env["TETHER_DATABASE_URL"] = _with_password(database_url)
    done = alice("doctor")
    assert "(PostgreSQL)" in done.stdout
    assert "postgres:***@" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr


def test_doctor_says_when_the_database_cannot_be_reached_without_its_password(tmp_path: Path) -> None:
    replica = _replica(tmp_path / "home", f"postgresql://tether:{PASSWORD}@127.0.0.1:9/tether")
    done = replica("doctor", check=False)
    assert done.returncode == 8  # a StoreError
    assert "cannot reach the database" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr


def test_doctor_names_redis_without_its_password_when_it_cannot_be_reached(alice: Tether) -> None:
    alice.env["TETHER_REDIS_URL"] = f"redis://:{PASSWORD}@127.0.0.1:9/0"
    done = alice("doctor", check=False)
    assert done.returncode == 8  # a StoreError
    assert "redis://:***@127.0.0.1:9/0" in done.stdout
    assert "cannot reach Redis" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr


def test_doctor_warns_about_a_password_kept_in_the_config_file(tmp_path: Path, database_url: str) -> None:
    replica = Tether(tmp_path / "home")
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "tether.toml").write_text(f'database_url = "{_with_password(database_url)}"\n')
    done = replica("doctor")
    assert "database password" in done.stdout
    assert "TETHER_DATABASE_URL" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr


def test_db_upgrade_migrates_the_shared_database_and_names_it_masked(
    alice: Tether, database_url: str
) -> None:
    alice.env["TETHER_DATABASE_URL"] = _with_password(database_url)
    done = alice("db", "upgrade")
    assert "up to date" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr


def test_the_database_password_is_kept_in_the_secret_store_and_used(alice: Tether, database_url: str) -> None:
    done = alice("db", "password", input=f"{PASSWORD}\n")
    assert PASSWORD not in done.stdout + done.stderr
    settings = load_settings(alice.env)
    secrets = open_secret_store(settings.home, settings.secrets_backend)
    assert secrets.get_secret(DATABASE_PASSWORD_SECRET) == PASSWORD
    assert store_location(settings, secrets) == _with_password(database_url)
    assert "echo" not in alice("source", "list").stdout  # tether opens the database with it
    alice("db", "password", "--clear")
    assert secrets.get_secret(DATABASE_PASSWORD_SECRET) is None


def test_a_password_in_the_url_wins_over_the_stored_one(tmp_path: Path, database_url: str) -> None:
    secrets = open_secret_store(tmp_path, "file")
    secrets.set_secret(DATABASE_PASSWORD_SECRET, "stored")
    env = {"TETHER_HOME": str(tmp_path), "TETHER_CONFIG": str(tmp_path / "none.toml")}
    assert store_location(load_settings(env), secrets) == tmp_path  # no URL: SQLite in the data dir
    with_url = load_settings({**env, "TETHER_DATABASE_URL": _with_password(database_url)})
    assert store_location(with_url, secrets) == _with_password(database_url)


def test_db_password_without_a_database_url_is_a_usage_error(tmp_path: Path) -> None:
    done = Tether(tmp_path / "home")("db", "password", input="x\n", check=False)
    assert done.returncode == 2
    assert "TETHER_DATABASE_URL" in done.stderr


def test_db_password_refuses_an_empty_password_and_a_url_that_has_one(
    alice: Tether, database_url: str
) -> None:
    empty = alice("db", "password", input="\n", check=False)
    assert (empty.returncode, "Traceback" in empty.stderr) == (2, False)
    alice.env["TETHER_DATABASE_URL"] = _with_password(database_url)
    has_one = alice("db", "password", input="other\n", check=False)
    assert has_one.returncode == 2
    assert PASSWORD not in has_one.stdout + has_one.stderr


async def _start_caller(replica: Tether, name: str) -> anyio.abc.Process:
    return await anyio.open_process(
        [sys.executable, str(CALLER), name, str(CALLS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=replica.env,
    )


def _stdout(process: anyio.abc.Process) -> anyio.abc.ByteReceiveStream:
    assert process.stdout is not None
    return process.stdout


async def _line(output: BufferedByteReceiveStream, process: anyio.abc.Process) -> bytes:
    try:
        return await output.receive_until(b"\n", 4096)
    except (anyio.IncompleteRead, anyio.EndOfStream):
        assert process.stderr is not None
        error = b"".join([chunk async for chunk in process.stderr]).decode(errors="replace")
        raise AssertionError(f"the replica stopped early:\n{error}") from None


def test_without_team_mode_the_postgresql_and_redis_clients_are_never_loaded(tmp_path: Path) -> None:
    code = (
        "import sys, anyio\n"
        "from tether.app import open_app\n"
        "async def main():\n"
        "    async with open_app() as app:\n"
        "        await app.store.list_sources()\n"
        "anyio.run(main)\n"
        "print(sorted(m for m in ('asyncpg', 'redis', 'sqlalchemy.ext.asyncio') if m in sys.modules))\n"
    )
    replica = Tether(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-c", code], env=replica.env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
