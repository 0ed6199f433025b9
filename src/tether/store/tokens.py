"""Gateway bearer tokens: ``TokenStore``.

Mixin of ``SqlStore``. Only a token's SHA-256 is stored; the token itself is shown once by
whoever created it and never reaches the database. Revoking keeps the row, so the name
and dates stay on record; a new token may then take the name again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tether.core.storage import GatewayToken
from tether.errors import AlreadyExists, NotFound
from tether.store import rows
from tether.store.engine import Database
from tether.store.schema import metadata

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("sources", sa.JSON, nullable=True),
    sa.Column("uses_tool_search", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("revoked_at", sa.String(40), nullable=True),
)

_ACTIVE = tokens.c.revoked_at.is_(None)


def _exists(name: str) -> AlreadyExists:
    return AlreadyExists(
        f"a gateway token named '{name}' exists already: revoke it with `tether token revoke {name}` "
        "or pick another name"
    )


class TokenRepository:
    _db: Database

    async def add_token(self, token: GatewayToken) -> None:
        values = {
            "token_hash": token.token_hash,
            "name": token.name,
            "sources": list(token.sources) if token.sources is not None else None,
            "uses_tool_search": token.uses_tool_search,
            "created_at": rows.to_text(token.created_at or rows.now()),
            "revoked_at": None,
        }
        query = sa.select(tokens.c.name).where(tokens.c.name == token.name, _ACTIVE)

        def write(conn: sa.Connection) -> None:
            if conn.scalar(query) is not None:
                raise _exists(token.name)
            try:
                conn.execute(sa.insert(tokens).values(**values))
            except IntegrityError as error:  # the same hash twice, or a race the check could not see
                raise _exists(token.name) from error

        await self._db.write(write)

    async def token_by_hash(self, token_hash: str) -> GatewayToken | None:
        query = sa.select(tokens).where(tokens.c.token_hash == token_hash, _ACTIVE)
        row = await self._db.read(lambda conn: conn.execute(query).first())
        return _token_from_row(row) if row is not None else None

    async def list_tokens(self) -> Sequence[GatewayToken]:
        query = sa.select(tokens).where(_ACTIVE).order_by(tokens.c.created_at)
        return await self._db.read(lambda conn: [_token_from_row(row) for row in conn.execute(query)])

    async def revoke_token(self, name: str) -> GatewayToken:
        stamp = rows.to_text(rows.now())

        def write(conn: sa.Connection) -> rows.AnyRow:
            row = conn.execute(sa.select(tokens).where(tokens.c.name == name, _ACTIVE)).first()
            if row is None:
                raise NotFound(f"no active gateway token named '{name}': see `tether token list`")
            conn.execute(
                sa.update(tokens).where(tokens.c.token_hash == row.token_hash).values(revoked_at=stamp)
            )
            return row

        row = await self._db.write(write)
        return dataclasses.replace(_token_from_row(row), revoked_at=rows.from_text(stamp))


def _token_from_row(row: rows.AnyRow) -> GatewayToken:
    sources = cast(list[Any] | None, row.sources)
    return GatewayToken(
        name=row.name,
        token_hash=row.token_hash,
        sources=tuple(str(s) for s in sources) if sources is not None else None,
        uses_tool_search=bool(row.uses_tool_search),
        created_at=rows.from_text(row.created_at),
        revoked_at=rows.from_text(row.revoked_at) if row.revoked_at is not None else None,
    )
