"""Alembic's entry point: run the migrations on the connection tether hands in.

``tether.store.migrate`` passes a connection that is already inside a write transaction
in ``config.attributes["connection"]``. Without one (a developer running Alembic commands
by hand) the URL in ``sqlalchemy.url`` is opened with tether's own engine set-up.
"""

from __future__ import annotations

import anyio
import sqlalchemy as sa
from alembic import context

from tether.store.engine import Database
from tether.store.schema import metadata


def run_on(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite can only change a table by copying it; batch mode writes migrations that way.
        render_as_batch=connection.dialect.name == "sqlite",
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_on_url(url: str) -> None:
    db = Database.connect(url, where=url)
    try:
        await db.write(run_on)
    finally:
        await db.close()


def main() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    url = config.get_main_option("sqlalchemy.url")
    if isinstance(connection, sa.Connection):
        run_on(connection)
    elif url is None:
        raise RuntimeError("set sqlalchemy.url, or pass a connection in config.attributes['connection']")
    elif context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        anyio.run(run_on_url, url)


main()
