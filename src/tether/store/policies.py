"""Per-tool permissions and pinned definitions: ``PolicyStore``.

Mixin of ``SqlStore``. ``set_effect`` reads the old effect and writes the new one in one write
transaction, so two processes changing one tool each see the other's write. ``get_policy``, read
on every call, comes from the lane's cache on SQLite. Deciding is ``tether.core.policy``'s job.
"""

from __future__ import annotations

import json
import sqlite3

import sqlalchemy as sa

from tether.core.storage import ToolPolicy
from tether.store import rows
from tether.store.engine import Database
from tether.store.hotpath import ReadCache
from tether.store.lane import LockBusy
from tether.store.schema import pins, policies
from tether.types import Effect, ToolDef


class PolicyRepository:
    _db: Database
    _cache: ReadCache | None

    async def get_effect(self, source: str, tool: str) -> Effect | None:
        query = sa.select(policies.c.effect).where(policies.c.source == source, policies.c.tool == tool)
        effect = await self._db.read(lambda conn: conn.scalar(query))
        return Effect(effect) if effect is not None else None

    async def get_policy(self, source: str, tool: str) -> ToolPolicy:
        """The tool's effect and pinned definition, read by one statement (so consistent)."""
        if self._cache is not None:
            try:
                return self._cache.get(
                    ("policy", source, tool), lambda conn: _lane_policy(conn, source, tool)
                )
            except LockBusy:
                pass  # the lane cannot read now: read through the engine
        is_tool = (policies.c.source == source, policies.c.tool == tool)
        is_pin = (pins.c.source == source, pins.c.tool == tool)
        query = sa.select(
            sa.select(policies.c.effect).where(*is_tool).scalar_subquery().label("effect"),
            sa.select(pins.c.definition).where(*is_pin).scalar_subquery().label("definition"),
            sa.select(pins.c.definition_hash).where(*is_pin).scalar_subquery().label("definition_hash"),
        )
        row = await self._db.read(lambda conn: conn.execute(query).one())
        return ToolPolicy(
            effect=Effect(row.effect) if row.effect is not None else None,
            pinned=rows.tool_from_json(row.definition) if row.definition is not None else None,
            pinned_hash=row.definition_hash,
        )

    async def set_pin(self, source: str, tool: str, definition: ToolDef, definition_hash: str) -> None:
        """Remember ``definition`` as the one a person approved for this tool."""
        values = {
            "source": source,
            "tool": tool,
            "definition": rows.tool_to_json(definition),
            "definition_hash": definition_hash,
            "pinned_at": rows.to_text(rows.now()),
        }
        statement = self._db.upsert(pins, values, keys=("source", "tool"))
        await self._db.write(lambda conn: conn.execute(statement))

    async def set_effect(self, source: str, tool: str, effect: Effect) -> Effect | None:
        """Store ``effect`` and return the one it replaced, read in the same write transaction."""
        stamp = rows.to_text(rows.now())
        key = (policies.c.source == source, policies.c.tool == tool)
        values = {"source": source, "tool": tool, "effect": effect.value, "updated_at": stamp}
        insert = self._db.insert_new(policies, values, keys=("source", "tool"))
        update = sa.update(policies).where(*key).values(effect=effect.value, updated_at=stamp)

        def write(conn: sa.Connection) -> str | None:
            # Inserting first, not reading: on PostgreSQL a SELECT cannot see (or lock) a row
            # another process is inserting, so both would report "no previous effect".
            if conn.execute(insert).rowcount == 1:
                return None
            # FOR UPDATE locks the row on PostgreSQL; SQLite is already locked.
            previous: str | None = conn.scalar(sa.select(policies.c.effect).where(*key).with_for_update())
            if previous != effect.value:
                conn.execute(update)
            return previous

        previous = await self._db.write(write)
        return Effect(previous) if previous is not None else None

    async def all_effects(self) -> dict[tuple[str, str], Effect]:
        query = sa.select(policies.c.source, policies.c.tool, policies.c.effect)
        return await self._db.read(
            lambda conn: {(row.source, row.tool): Effect(row.effect) for row in conn.execute(query)}
        )


# The same read as get_policy's, for the lane's stdlib connection (JSON columns are text there).
_POLICY_SQL = (
    "SELECT (SELECT effect FROM policies WHERE source = ?1 AND tool = ?2),"
    " (SELECT definition FROM pins WHERE source = ?1 AND tool = ?2),"
    " (SELECT definition_hash FROM pins WHERE source = ?1 AND tool = ?2)"
)


def _lane_policy(conn: sqlite3.Connection, source: str, tool: str) -> ToolPolicy:
    effect, definition, definition_hash = conn.execute(_POLICY_SQL, (source, tool)).fetchone()
    return ToolPolicy(
        effect=Effect(effect) if effect is not None else None,
        pinned=rows.tool_from_json(json.loads(definition)) if definition is not None else None,
        pinned_hash=definition_hash,
    )
