"""Schema migrations: bring a database to the revision this tether expects, with Alembic.

The migration scripts live inside the package (``migrations/``), so no ``alembic.ini``
is needed at run time. Migrations run inside one write transaction, so several processes
starting at once apply them exactly once; they never drop data.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from tether.errors import StoreError
from tether.store.engine import Database

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Any constant works: it only has to be the same in every tether process.
_POSTGRES_MIGRATION_LOCK = 0x7E7E


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at tether's migrations (and at ``url`` for hand-run commands)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The revision this version of tether expects."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


async def apply_migrations(db: Database, revision: str = "head") -> None:
    """Upgrade ``db`` to ``revision``; does nothing when it is there already."""

    def upgrade(connection: sa.Connection) -> None:
        if connection.dialect.name == "postgresql":
            # SQLite's BEGIN IMMEDIATE already excludes other writers; PostgreSQL needs a lock.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_POSTGRES_MIGRATION_LOCK})")
        config = alembic_config()
        config.attributes["connection"] = connection
        try:
            command.upgrade(config, revision)
        except CommandError as error:
            raise StoreError(
                f"the database in {db.where} is at a schema this tether does not know ({error}): "
                "upgrade tether, or point TETHER_HOME at another data dir"
            ) from error

    async with db.write() as conn:
        await conn.run_sync(upgrade)


async def database_revision(db: Database) -> str | None:
    """The revision ``db`` is at, or None when it has never been migrated."""

    def current(connection: sa.Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with db.read() as conn:
        return await conn.run_sync(current)
