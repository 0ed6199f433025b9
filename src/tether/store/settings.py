"""Small JSON settings shared by every tether process on one database: ``SettingsStore``.

Mixin of ``SqlStore``. A setting is one JSON value under a key, replaced whole; this is
not a place for secrets (they go to the secret store) or for anything that needs a table.
On SQLite reads come from the lane's cache (the rules are read on every call).
"""

from __future__ import annotations

import json
import sqlite3

import sqlalchemy as sa

from tether.store import rows
from tether.store.engine import Database
from tether.store.hotpath import ReadCache
from tether.store.lane import LockBusy
from tether.store.schema import settings
from tether.types import JSON


class SettingsRepository:
    _db: Database
    _cache: ReadCache | None

    async def get_setting(self, key: str) -> JSON | None:
        if self._cache is not None:
            try:
                stored = self._cache.get(("setting", key), lambda conn: _lane_setting(conn, key))
            except LockBusy:
                pass  # the lane cannot read now: read through the engine
            else:
                # Parsed on every read, so a caller that changes the value changes only its copy.
                return json.loads(stored) if isinstance(stored, str) else stored
        query = sa.select(settings.c.value).where(settings.c.key == key)
        return await self._db.read(lambda conn: conn.scalar(query))

    async def set_setting(self, key: str, value: JSON) -> None:
        values = {"key": key, "value": value, "updated_at": rows.to_text(rows.now())}
        statement = self._db.upsert(settings, values, keys=("key",))
        await self._db.write(lambda conn: conn.execute(statement))

    async def setting_or_default(self, key: str, default: JSON) -> JSON:
        """The setting under ``key``; when there is none, ``default``, stored first.

        Processes racing to store their own defaults all get the one that was stored first.
        """
        values = {"key": key, "value": default, "updated_at": rows.to_text(rows.now())}
        insert = self._db.insert_new(settings, values, keys=("key",))
        query = sa.select(settings.c.value).where(settings.c.key == key)

        def write(conn: sa.Connection) -> JSON:
            conn.execute(insert)
            return conn.scalar(query)

        return await self._db.write(write)


def _lane_setting(conn: sqlite3.Connection, key: str) -> str | int | float | None:
    """The stored JSON text; a number comes back as a number (SQLite's NUMERIC affinity for JSON)."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return row[0] if row is not None else None
