"""Schema migrations with Alembic: bring a database to the revision this tether expects.

A database at ``HEAD_REVISION`` is recognised by one plain SELECT without importing Alembic (a
quarter second of start-up). The scripts in ``migrations/`` run in one write transaction, so
processes starting at once apply them exactly once; they never drop data.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from tether.errors import StoreError
from tether.store.engine import Database

if TYPE_CHECKING:
    from alembic.config import Config

HEAD_REVISION = "0006"
"""The newest script in ``migrations/versions``; a test checks it against Alembic's own head."""

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Any constant works: it only has to be the same in every tether process.
_POSTGRES_MIGRATION_LOCK = 0x7E7E


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at tether's migrations (and at ``url`` for hand-run commands)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The revision Alembic finds at the end of the migration scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


async def apply_migrations(db: Database, revision: str = "head") -> None:
    """Upgrade ``db`` to ``revision``; does nothing when it is there already."""
    if revision == "head" and await database_revision(db) == HEAD_REVISION:
        return
    from alembic import command
    from alembic.util import CommandError

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

    await db.write(upgrade)


async def database_revision(db: Database) -> str | None:
    """The revision ``db`` is at, or None when it has never been migrated."""
    return await db.read(current_revision)


def current_revision(connection: sa.Connection) -> str | None:
    """What Alembic's version table holds, read with plain SQL."""
    if not connection.dialect.has_table(connection, "alembic_version"):
        return None
    versions = list(connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    if len(versions) > 1:
        raise StoreError(f"the database records several schema revisions ({', '.join(versions)})")
    return str(versions[0]) if versions else None
