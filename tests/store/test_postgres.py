"""Opening a store on PostgreSQL: migrations from empty to head, the same schema as SQLite, and
errors that say what to do without ever showing the password."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from alembic import command

from tests.postgres import PostgresCluster
from tether.core.activity import SourceAdded
from tether.errors import StoreError
from tether.store import head_revision, open_store, upgrade_database
from tether.store.db import describe_location, url_has_password
from tether.store.migrate import alembic_config
from tether.types import Effect

from .samples import raw_database, stdio_source
from .test_opening import TABLES

PASSWORD = "hunter2-secret"


def _columns(location: Path | str) -> set[tuple[str, str]]:
    """Every (table, column) of the database, SQLite or PostgreSQL."""
    with raw_database(location) as db:
        if isinstance(location, Path):
            tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {(t, row[1]) for t in tables for row in db.execute(f"PRAGMA table_xinfo({t})")}
        query = "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
        return {(table, column) for table, column in db.execute(query)}


async def test_opening_an_empty_database_migrates_it_to_the_schema_sqlite_has(
    postgres_url: str, tmp_path: Path
) -> None:
    async with await open_store(postgres_url) as store:
        assert await store.revision() == head_revision()
    async with await open_store(tmp_path):
        pass
    columns = _columns(postgres_url)
    assert {table for table, _ in columns} == TABLES
    assert columns == _columns(tmp_path)


async def test_reopening_migrates_nothing_and_keeps_the_data(postgres_url: str) -> None:
    async with await open_store(postgres_url) as store:
        await store.add_source(stdio_source())
        await store.append(SourceAdded(source="notes"), actor="cli")
    for _ in range(2):
        async with await open_store(postgres_url) as store:
            assert await store.revision() == head_revision()
            assert await store.list_sources() == [stdio_source()]
            assert (await store.verify()).checked == 1
    with raw_database(postgres_url) as db:
        assert db.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)


async def test_stores_opened_at_once_on_an_empty_database_migrate_it_once(postgres_url: str) -> None:
    revisions: list[str | None] = []

    async def open_and_read() -> None:
        async with await open_store(postgres_url) as store:
            revisions.append(await store.revision())

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(open_and_read)
    assert revisions == [head_revision()] * 4


async def test_upgrade_database_reports_the_revision_it_reached(postgres_url: str) -> None:
    assert await upgrade_database(postgres_url) == head_revision()
    assert await upgrade_database(postgres_url) == head_revision()


def test_upgrading_from_the_first_revision_keeps_the_data(postgres_url: str) -> None:
    command.upgrade(alembic_config(postgres_url), "0001")
    with raw_database(postgres_url) as db:
        db.execute(
            "INSERT INTO policies (source, tool, effect, updated_at) VALUES ('notes', 'search', 'allow', 'x')"
        )

    async def reopen() -> dict[tuple[str, str], Effect]:
        async with await open_store(postgres_url) as store:
            assert await store.revision() == head_revision()
            return await store.all_effects()

    assert anyio.run(reopen) == {("notes", "search"): Effect.ALLOW}


def test_alembic_commands_run_by_hand_upgrade_and_downgrade_the_same_schema(postgres_url: str) -> None:
    config = alembic_config(postgres_url)
    command.upgrade(config, "head")
    after_upgrade = _columns(postgres_url)
    assert {table for table, _ in after_upgrade} == TABLES
    command.downgrade(config, "base")
    assert {table for table, _ in _columns(postgres_url)} == {"alembic_version"}
    command.upgrade(config, "head")
    assert _columns(postgres_url) == after_upgrade


async def test_the_store_names_its_database_without_the_password(postgres_cluster: PostgresCluster) -> None:
    # The test cluster trusts every local connection, so any password is accepted.
    url = postgres_cluster.url("postgres").replace("postgres@", f"postgres:{PASSWORD}@")
    async with await open_store(url) as store:
        assert PASSWORD not in store.where
        assert "***" in store.where


async def test_a_password_given_as_a_query_argument_is_masked_too() -> None:
    # asyncpg takes ?password= as well; nothing is connected to here.
    url = f"postgresql://tether@db.internal/tether?password={PASSWORD}&sslmode=require"
    assert describe_location(url) == "postgresql://tether@db.internal/tether?password=***&sslmode=require"
    with pytest.raises(StoreError) as caught:
        await open_store(f"postgresql://tether@127.0.0.1:9/tether?password={PASSWORD}")
    assert PASSWORD not in str(caught.value)


async def test_a_server_that_is_not_there_is_a_store_error_without_the_password() -> None:
    with pytest.raises(StoreError) as caught:
        await open_store(f"postgresql://tether:{PASSWORD}@127.0.0.1:9/tether")
    assert caught.value.code == "store_error"
    assert PASSWORD not in str(caught.value)
    assert "TETHER_DATABASE_URL" in str(caught.value)


async def test_a_database_that_does_not_exist_is_a_store_error_without_the_password(
    postgres_cluster: PostgresCluster,
) -> None:
    url = postgres_cluster.url("no_such_database").replace("postgres@", f"postgres:{PASSWORD}@")
    with pytest.raises(StoreError) as caught:
        await open_store(url)
    assert PASSWORD not in str(caught.value)
    assert "no_such_database" in str(caught.value)
    assert "createdb" in str(caught.value)


async def test_a_user_the_server_does_not_know_is_a_store_error_that_says_what_to_check(
    postgres_cluster: PostgresCluster,
) -> None:
    url = postgres_cluster.url("postgres").replace("postgres@", f"nobody:{PASSWORD}@")
    with pytest.raises(StoreError) as caught:
        await open_store(url)
    assert PASSWORD not in str(caught.value)
    assert "TETHER_DATABASE_URL" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://tether:{PASSWORD}@127.0.0.1:notaport/tether",
        f"mysql://tether:{PASSWORD}@127.0.0.1/tether",
    ],
)
async def test_a_database_url_tether_cannot_use_is_a_store_error_without_the_password(url: str) -> None:
    with pytest.raises(StoreError) as caught:
        await open_store(url)
    assert PASSWORD not in str(caught.value)


async def test_connections_the_server_dropped_are_replaced_without_an_error(postgres_head_url: str) -> None:
    async with await open_store(postgres_head_url) as store:
        await store.add_source(stdio_source())
        with raw_database(postgres_head_url) as db:  # as a server restart or a failover would
            (dropped,) = db.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
        assert dropped >= 1
        assert await store.list_sources() == [stdio_source()]
        assert (await store.verify()).is_intact


def test_a_password_in_the_url_is_seen_in_either_form() -> None:
    assert url_has_password("postgresql://tether:secret@db.internal/tether")
    assert url_has_password("postgresql://tether@db.internal/tether?password=secret")
    assert not url_has_password("postgresql://tether@db.internal/tether?sslmode=require")
