"""Sources and the tools each one listed last: ``SourceStore`` and ``ToolCatalogStore``.

Mixins of ``SqlStore``; each method is one transaction. Removing a source also forgets its
catalog, policies and pins, so a new source that reuses the name starts from ``ask``.
Activity and approvals about a removed source stay: history is never rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tether.core.pinning import definition_hash
from tether.errors import AlreadyExists, UnknownSource
from tether.store import rows
from tether.store.engine import Database
from tether.store.schema import pins, policies, sources, tools
from tether.types import SourceConfig, ToolDef


def _unknown(name: str) -> UnknownSource:
    return UnknownSource(
        f"no source named '{name}' is configured: see `tether ext list` and `tether connector list`"
    )


def _exists(name: str) -> AlreadyExists:
    return AlreadyExists(f"a source named '{name}' exists already: remove it first or pick another name")


class SourceRepository:
    _db: Database

    async def list_sources(self) -> Sequence[SourceConfig]:
        query = sa.select(sources).order_by(sources.c.name)
        return await self._db.read(lambda conn: [rows.source_from_row(row) for row in conn.execute(query)])

    async def get_source(self, name: str) -> SourceConfig:
        query = sa.select(sources).where(sources.c.name == name)
        row = await self._db.read(lambda conn: conn.execute(query).first())
        if row is None:
            raise _unknown(name)
        return rows.source_from_row(row)

    async def add_source(self, config: SourceConfig) -> None:
        stamp = rows.to_text(rows.now())
        values = rows.source_values(config)

        def write(conn: sa.Connection) -> None:
            if _source_exists(conn, config.name):
                raise _exists(config.name)
            try:
                conn.execute(sa.insert(sources).values(**values, created_at=stamp, updated_at=stamp))
            except IntegrityError as error:  # another process won a race the check could not see
                raise _exists(config.name) from error

        await self._db.write(write)

    async def update_source(self, config: SourceConfig) -> None:
        values = rows.source_values(config)
        del values["name"]
        statement = (
            sa.update(sources)
            .where(sources.c.name == config.name)
            .values(**values, updated_at=rows.to_text(rows.now()))
        )
        if await self._db.write(lambda conn: conn.execute(statement).rowcount) == 0:
            raise _unknown(config.name)

    async def remove_source(self, name: str) -> None:
        def write(conn: sa.Connection) -> None:
            if conn.execute(sa.delete(sources).where(sources.c.name == name)).rowcount == 0:
                raise _unknown(name)
            conn.execute(sa.delete(tools).where(tools.c.source == name))
            conn.execute(sa.delete(policies).where(policies.c.source == name))
            conn.execute(sa.delete(pins).where(pins.c.source == name))

        await self._db.write(write)


def _source_exists(conn: sa.Connection, name: str) -> bool:
    return conn.scalar(sa.select(sources.c.name).where(sources.c.name == name)) is not None


_TOOL_KEYS = ("source", "name")


class CatalogRepository:
    _db: Database

    async def known_tools(self, source: str) -> Sequence[ToolDef]:
        query = sa.select(tools.c.definition).where(tools.c.source == source).order_by(tools.c.name)
        return await self._db.read(
            lambda conn: [rows.tool_from_json(definition) for definition in conn.execute(query).scalars()]
        )

    async def all_known_tools(self) -> dict[str, list[ToolDef]]:
        """Every stored catalog by source, in one read (the web UI shows all sources at once)."""
        query = sa.select(tools.c.source, tools.c.definition).order_by(tools.c.source, tools.c.name)

        def work(conn: sa.Connection) -> dict[str, list[ToolDef]]:
            found: dict[str, list[ToolDef]] = {}
            for row in conn.execute(query):
                found.setdefault(row.source, []).append(rows.tool_from_json(row.definition))
            return found

        return await self._db.read(work)

    async def save_tools(self, source: str, tools_now: Sequence[ToolDef]) -> None:
        """Replace the stored catalog of ``source`` with ``tools_now`` (the last of a repeated name wins)."""
        stamp = rows.to_text(rows.now())
        by_name = {tool.name: tool for tool in tools_now}
        values = [
            {
                "source": source,
                "name": tool.name,
                "definition": rows.tool_to_json(tool),
                "definition_hash": definition_hash(tool),
                "seen_at": stamp,
            }
            for tool in sorted(by_name.values(), key=lambda tool: tool.name)  # one lock order everywhere
        ]
        # Upserting, not deleting all and inserting: on PostgreSQL two processes saving one
        # source's catalog at once would both insert every row, and the second would fail.
        stale = sa.delete(tools).where(tools.c.source == source, tools.c.name.not_in(list(by_name)))
        columns: dict[str, object] = {c.name: sa.bindparam(c.name) for c in tools.c}
        upsert = self._db.upsert(tools, columns, keys=_TOOL_KEYS)

        def write(conn: sa.Connection) -> None:
            conn.execute(stale)
            if values:
                conn.execute(upsert, values)

        await self._db.write(write)
