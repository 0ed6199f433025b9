"""PostgreSQL (team mode): the same transactions as SQLite, on SQLAlchemy's async engine and asyncpg.

Imported only when a PostgreSQL URL is opened, so SQLite users never load the asyncio
extension (and the ORM it pulls in) or the driver. Each transaction's function runs through
``AsyncConnection.run_sync``; writers lock the rows they read with FOR UPDATE.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

import anyio
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import create_async_engine

from tether.errors import StoreError
from tether.store.engine import Database, T, Work


class PostgresDatabase(Database):
    def __init__(self, url: sa.URL, *, where: str) -> None:
        super().__init__(where=where)
        # pre-ping: a connection the server dropped (a restart, a failover) is replaced before use,
        # not handed to a call that then fails.
        self.engine = create_async_engine(url, pool_reset_on_return=None, pool_pre_ping=True)

    async def read(self, work: Work[T], *, snapshot: bool = False) -> T:
        async def run() -> T:
            async with self.engine.connect() as conn:
                if snapshot:
                    # One snapshot for every statement, so concurrent writes look absent, not broken.
                    conn = await conn.execution_options(isolation_level="REPEATABLE READ")
                return await conn.run_sync(work)

        return await self._shielded(run)

    async def write(self, work: Work[T]) -> T:
        async def run() -> T:
            async with self.engine.begin() as conn:
                return await conn.run_sync(work)

        return await self._shielded(run)

    def upsert(self, table: sa.Table, values: Mapping[str, object], *, keys: Sequence[str]) -> sa.Executable:
        statement = postgresql.insert(table).values(dict(values))
        changes = {name: statement.excluded[name] for name in values if name not in keys}
        return statement.on_conflict_do_update(index_elements=list(keys), set_=changes)

    def insert_new(
        self, table: sa.Table, values: Mapping[str, object], *, keys: Sequence[str]
    ) -> sa.Executable:
        return postgresql.insert(table).values(dict(values)).on_conflict_do_nothing(index_elements=list(keys))

    async def close(self) -> None:
        with anyio.CancelScope(shield=True):
            await self.engine.dispose()

    async def _shielded(self, run: Callable[[], Awaitable[T]]) -> T:
        # Cancelling a driver call half-way makes SQLAlchemy throw the connection away; each
        # transaction is short, so the caller is cancelled after it instead.
        with anyio.CancelScope(shield=True), self.translated_errors():
            try:
                return await run()
            except OSError as error:  # asyncpg raises these as they are when connecting fails
                raise StoreError(
                    f"cannot reach the database {self.where} ({error.strerror or error}): check that "
                    "PostgreSQL runs there and that TETHER_DATABASE_URL names the right host and port"
                ) from error
        raise AssertionError("unreachable: neither scope swallows an exception")
