"""Opening a store: migrations run once, and every unusable data dir is a StoreError saying what to do."""

from __future__ import annotations

import ctypes
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import anyio
import pytest
from alembic import command

from tether.core.activity import SourceAdded
from tether.errors import StoreError
from tether.store import head_revision, open_store, upgrade_database
from tether.store.db import DATABASE_FILE
from tether.store.migrate import HEAD_REVISION, alembic_config
from tether.types import Effect

from .samples import raw_database, stdio_source

TABLES = {
    "sources",
    "tools",
    "policies",
    "pins",
    "settings",
    "approvals",
    "activity",
    "activity_head",
    "activity_checkpoint",
    "tokens",
    "extensions",
    "conversations",
    "chat_messages",
    "chat_tool_calls",
    "alembic_version",
}


def _tables(data_dir: Path) -> set[str]:
    with raw_database(data_dir) as db:
        return {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


async def test_opening_a_new_data_dir_creates_it_and_migrates_to_head(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    async with await open_store(data_dir) as store:
        assert await store.revision() == head_revision()
    assert (data_dir / DATABASE_FILE).is_file()
    assert _tables(data_dir) == TABLES


async def test_sqlite_runs_in_wal_mode(data_dir: Path) -> None:
    async with await open_store(data_dir):
        pass
    with raw_database(data_dir) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_reopening_migrates_nothing_and_keeps_the_data(data_dir: Path) -> None:
    async with await open_store(data_dir) as store:
        await store.add_source(stdio_source())
        await store.append(SourceAdded(source="notes"), actor="cli")
    for _ in range(2):
        async with await open_store(data_dir) as store:
            assert await store.revision() == head_revision()
            assert await store.list_sources() == [stdio_source()]
            assert (await store.verify()).checked == 1
    with raw_database(data_dir) as db:
        assert db.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
        assert db.execute("SELECT seq FROM activity_head").fetchone() == (1,)


async def test_stores_opened_at_once_on_a_new_data_dir_migrate_it_once(data_dir: Path) -> None:
    revisions: list[str | None] = []

    async def open_and_read() -> None:
        async with await open_store(data_dir) as store:
            revisions.append(await store.revision())

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(open_and_read)
    assert revisions == [head_revision()] * 4


async def test_opening_a_new_database_while_another_process_writes_it_waits_for_that(
    data_dir: Path,
) -> None:
    # Switching to WAL takes a lock SQLite's busy timeout does not wait for; opening retries it.
    data_dir.mkdir()  # noqa: ASYNC240 - test set-up
    opened: list[str | None] = []

    async def open_it() -> None:
        async with await open_store(data_dir) as store:
            opened.append(await store.revision())

    with closing(sqlite3.connect(data_dir / DATABASE_FILE, isolation_level=None)) as holder:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("CREATE TABLE elsewhere (x)")
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(open_it)
                await anyio.wait_all_tasks_blocked()
                holder.execute("COMMIT")
    assert opened == [head_revision()]


def test_the_revision_tether_expects_is_the_last_migration() -> None:
    assert head_revision() == HEAD_REVISION


def test_opening_an_up_to_date_store_does_not_load_alembic(data_dir: Path) -> None:
    code = (
        "import sys, anyio\n"
        "from pathlib import Path\n"
        "from tether.store import open_store\n"
        "async def main():\n"
        "    async with await open_store(Path(sys.argv[1])) as store:\n"
        "        print(await store.revision())\n"
        "anyio.run(main)\n"
        "print('alembic' in sys.modules)\n"
    )
    outputs: list[list[str]] = []
    for _ in range(2):  # creating the database loads Alembic; opening it again must not
        done = subprocess.run(
            [sys.executable, "-c", code, str(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.split())
    assert outputs == [[HEAD_REVISION, "True"], [HEAD_REVISION, "False"]]


async def test_upgrade_database_reports_the_revision_it_reached(data_dir: Path) -> None:
    assert await upgrade_database(data_dir) == head_revision()
    assert await upgrade_database(data_dir) == head_revision()


async def test_a_database_url_opens_like_a_data_dir(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    async with await open_store(url) as store:
        await store.add_source(stdio_source())
    async with await open_store(url) as store:
        assert await store.list_sources() == [stdio_source()]


def test_upgrading_from_the_first_revision_keeps_the_data(tmp_path: Path) -> None:
    config = alembic_config(f"sqlite:///{tmp_path / DATABASE_FILE}")
    command.upgrade(config, "0001")
    with raw_database(tmp_path) as db:
        db.execute(
            "INSERT INTO policies (source, tool, effect, updated_at) VALUES ('notes', 'search', 'allow', 'x')"
        )

    async def reopen() -> dict[tuple[str, str], Effect]:
        async with await open_store(tmp_path) as store:
            assert await store.revision() == head_revision()
            return await store.all_effects()

    assert anyio.run(reopen) == {("notes", "search"): Effect.ALLOW}


def test_alembic_commands_run_by_hand_upgrade_and_downgrade_the_same_schema(tmp_path: Path) -> None:
    config = alembic_config(f"sqlite:///{tmp_path / 'tether.db'}")
    command.upgrade(config, "head")
    assert _tables(tmp_path) == TABLES
    command.downgrade(config, "base")
    assert _tables(tmp_path) == {"alembic_version"}
    command.upgrade(config, "head")
    assert _tables(tmp_path) == TABLES


async def test_a_database_from_a_newer_tether_is_a_store_error(data_dir: Path) -> None:
    async with await open_store(data_dir):
        pass
    with raw_database(data_dir) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(StoreError) as caught:
        await open_store(data_dir)
    assert caught.value.code == "store_error"


async def test_a_file_that_is_not_sqlite_is_a_store_error(data_dir: Path) -> None:
    data_dir.mkdir()  # noqa: ASYNC240 - test set-up
    (data_dir / DATABASE_FILE).write_bytes(b"these are my notes, not a database\n" * 200)
    with pytest.raises(StoreError) as caught:
        await open_store(data_dir)
    assert caught.value.code == "store_error"
    assert "tether.db aside" in caught.value.message


async def test_a_damaged_database_is_a_store_error(data_dir: Path) -> None:
    async with await open_store(data_dir) as store:
        for n in range(50):
            await store.append(SourceAdded(source=f"s{n}", config={"pad": "x" * 500}), actor="cli")
    database = data_dir / DATABASE_FILE
    database.write_bytes(database.read_bytes()[: database.stat().st_size // 2])
    with pytest.raises(StoreError) as caught:
        async with await open_store(data_dir) as store:
            await store.verify()
    assert caught.value.code == "store_error"


async def test_a_database_damaged_while_open_fails_calls_with_a_store_error(data_dir: Path) -> None:
    async with await open_store(data_dir) as store:
        with raw_database(data_dir) as db:
            db.execute("DROP TABLE policies")
        with pytest.raises(StoreError) as caught:
            await store.all_effects()
        assert caught.value.code == "store_error"


async def test_a_data_dir_that_is_a_file_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a directory")
    with pytest.raises(StoreError) as caught:
        await open_store(tmp_path / "data")
    assert caught.value.code == "store_error"
    with pytest.raises(StoreError):
        await open_store(tmp_path / "data" / "below")


async def test_a_database_path_that_is_a_directory_is_a_store_error(data_dir: Path) -> None:
    (data_dir / DATABASE_FILE).mkdir(parents=True)
    with pytest.raises(StoreError) as caught:
        await open_store(data_dir)
    assert caught.value.code == "store_error"


# The child opens the store at each location and prints the error code (or "opened"). Root
# may write anywhere, so as root the child first gives up the capabilities that override
# file permissions. One child for all the cases: starting Python is the slow part.
OPEN_IN_A_CHILD = """
import sys, anyio
from pathlib import Path
from tether.errors import StoreError
from tether.store import open_store

async def main():
    for location in sys.argv[1:]:
        try:
            store = await open_store(Path(location) if location.startswith("/") else location)
        except StoreError as error:
            print(error.code)
        else:
            await store.close()
            print("opened")

anyio.run(main)
"""
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def _without_permission_override() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.fixture(scope="module")
def read_only_outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """How opening went in a child process, for each kind of place tether may not write to."""
    is_root = os.geteuid() == 0
    if is_root and not sys.platform.startswith("linux"):
        pytest.skip("as root, file permissions can only be enforced on a child process on Linux")
    root = tmp_path_factory.mktemp("read-only")
    read_only_dir = root / "read-only-dir"
    read_only_dir.mkdir()
    with_database = root / "read-only-dir-with-database"
    with_database.mkdir()
    sqlite3.connect(with_database / DATABASE_FILE).close()
    read_only_file = root / "read-only-database-file"
    read_only_file.mkdir()
    sqlite3.connect(read_only_file / DATABASE_FILE).close()
    (read_only_file / DATABASE_FILE).chmod(0o444)
    for directory in (read_only_dir, with_database):
        directory.chmod(0o555)
    cases = {
        "dir": str(read_only_dir),
        "dir below": str(read_only_dir / "new"),
        "dir with database": str(with_database),
        "url": f"sqlite:///{read_only_dir / DATABASE_FILE}",
        "database file": str(read_only_file),
        "writable control": str(root / "writable"),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-c", OPEN_IN_A_CHILD, *cases.values()],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            preexec_fn=_without_permission_override if is_root else None,
        )
    except subprocess.SubprocessError as error:
        pytest.skip(f"cannot drop root's permission override for the child: {error}")
    assert done.returncode == 0, done.stderr
    outcomes = dict(zip(cases, done.stdout.split(), strict=True))
    assert outcomes["writable control"] == "opened"
    return outcomes


def test_a_read_only_data_dir_is_a_store_error(read_only_outcomes: dict[str, str]) -> None:
    assert read_only_outcomes["dir"] == "store_error"
    assert read_only_outcomes["dir below"] == "store_error"


def test_a_read_only_data_dir_with_a_database_in_it_is_a_store_error(
    read_only_outcomes: dict[str, str],
) -> None:
    assert read_only_outcomes["dir with database"] == "store_error"


def test_a_database_url_in_a_read_only_dir_is_a_store_error(read_only_outcomes: dict[str, str]) -> None:
    assert read_only_outcomes["url"] == "store_error"


def test_a_read_only_database_file_is_a_store_error(read_only_outcomes: dict[str, str]) -> None:
    assert read_only_outcomes["database file"] == "store_error"
