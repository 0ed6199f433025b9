"""Sources, their tool catalogs and their policies: ``SourceStore``, ``ToolCatalogStore``, ``PolicyStore``.

Mixins of ``SqlStore``; each method is one transaction. Removing a source also forgets
its catalog and policies, so a new source that reuses the name starts from ``ask``.
Activity and approvals about a removed source stay: history is never rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tether.errors import AlreadyExists, UnknownSource
from tether.store import rows
from tether.store.engine import Database
from tether.store.schema import policies, sources, tools
from tether.types import Effect, SourceConfig, ToolDef


def _unknown(name: str) -> UnknownSource:
    return UnknownSource(
        f"no source named '{name}' is configured: see `tether ext list` and `tether connector list`"
    )


def _exists(name: str) -> AlreadyExists:
    return AlreadyExists(f"a source named '{name}' exists already: remove it first or pick another name")


class SourceRepository:
    _db: Database

    async def list_sources(self) -> Sequence[SourceConfig]:
        async with self._db.read() as conn:
            result = await conn.execute(sa.select(sources).order_by(sources.c.name))
            return [rows.source_from_row(row) for row in result]

    async def get_source(self, name: str) -> SourceConfig:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(sources).where(sources.c.name == name))).first()
        if row is None:
            raise _unknown(name)
        return rows.source_from_row(row)

    async def add_source(self, config: SourceConfig) -> None:
        stamp = rows.to_text(rows.now())
        async with self._db.write() as conn:
            if await _source_exists(conn, config.name):
                raise _exists(config.name)
            values = rows.source_values(config)
            try:
                await conn.execute(sa.insert(sources).values(**values, created_at=stamp, updated_at=stamp))
            except IntegrityError as error:  # another process won a race the check could not see
                raise _exists(config.name) from error

    async def update_source(self, config: SourceConfig) -> None:
        values = rows.source_values(config)
        del values["name"]
        async with self._db.write() as conn:
            result = await conn.execute(
                sa.update(sources)
                .where(sources.c.name == config.name)
                .values(**values, updated_at=rows.to_text(rows.now()))
            )
            if result.rowcount == 0:
                raise _unknown(config.name)

    async def remove_source(self, name: str) -> None:
        async with self._db.write() as conn:
            result = await conn.execute(sa.delete(sources).where(sources.c.name == name))
            if result.rowcount == 0:
                raise _unknown(name)
            await conn.execute(sa.delete(tools).where(tools.c.source == name))
            await conn.execute(sa.delete(policies).where(policies.c.source == name))


async def _source_exists(conn: AsyncConnection, name: str) -> bool:
    found = await conn.scalar(sa.select(sources.c.name).where(sources.c.name == name))
    return found is not None


class CatalogRepository:
    _db: Database

    async def known_tools(self, source: str) -> Sequence[ToolDef]:
        async with self._db.read() as conn:
            result = await conn.execute(
                sa.select(tools.c.definition).where(tools.c.source == source).order_by(tools.c.name)
            )
            return [rows.tool_from_json(definition) for definition in result.scalars()]

    async def save_tools(self, source: str, tools_now: Sequence[ToolDef]) -> None:
        """Replace the stored catalog of ``source`` with ``tools_now`` (the last of a repeated name wins)."""
        stamp = rows.to_text(rows.now())
        by_name = {tool.name: tool for tool in tools_now}
        values = [
            {
                "source": source,
                "name": tool.name,
                "definition": rows.tool_to_json(tool),
                "definition_hash": rows.definition_hash(tool),
                "seen_at": stamp,
            }
            for tool in by_name.values()
        ]
        async with self._db.write() as conn:
            await conn.execute(sa.delete(tools).where(tools.c.source == source))
            if values:
                await conn.execute(sa.insert(tools), values)


class PolicyRepository:
    _db: Database

    async def get_effect(self, source: str, tool: str) -> Effect | None:
        async with self._db.read() as conn:
            effect = await conn.scalar(
                sa.select(policies.c.effect).where(policies.c.source == source, policies.c.tool == tool)
            )
        return Effect(effect) if effect is not None else None

    async def set_effect(self, source: str, tool: str, effect: Effect) -> Effect | None:
        """Store ``effect`` and return the one it replaced, read in the same write transaction."""
        stamp = rows.to_text(rows.now())
        key = (policies.c.source == source, policies.c.tool == tool)
        async with self._db.write() as conn:
            # FOR UPDATE locks an existing row on PostgreSQL; SQLite is already locked.
            previous = await conn.scalar(sa.select(policies.c.effect).where(*key).with_for_update())
            if previous is None:
                await conn.execute(
                    sa.insert(policies).values(
                        source=source, tool=tool, effect=effect.value, updated_at=stamp
                    )
                )
            elif previous != effect.value:
                await conn.execute(
                    sa.update(policies).where(*key).values(effect=effect.value, updated_at=stamp)
                )
        return Effect(previous) if previous is not None else None

    async def all_effects(self) -> dict[tuple[str, str], Effect]:
        async with self._db.read() as conn:
            result = await conn.execute(sa.select(policies.c.source, policies.c.tool, policies.c.effect))
            return {(row.source, row.tool): Effect(row.effect) for row in result}
