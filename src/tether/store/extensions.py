"""Installed extensions: ``ExtensionStore``.

Mixin of ``SqlStore``. An extension is registered together with the source of the same
name in one transaction, and forgotten together with it (and with the source's catalog,
policies and pins). Sensitive settings never come here: they live in the secret store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tether.core.storage import InstalledExtension
from tether.errors import AlreadyExists, UnknownExtension
from tether.store import rows
from tether.store.engine import Database
from tether.store.schema import metadata, pins, policies, sources, tools
from tether.types import SourceConfig

extensions = sa.Table(
    "extensions",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("version", sa.String(100), nullable=False),
    sa.Column("manifest", sa.JSON, nullable=False),
    sa.Column("install_dir", sa.Text, nullable=False),
    sa.Column("signature", sa.String(32), nullable=False),
    sa.Column("signer", sa.Text, nullable=True),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("installed_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)


def _unknown(extension_id: str) -> UnknownExtension:
    return UnknownExtension(f"no extension '{extension_id}' is installed: see `tether ext list`")


def _exists(extension_id: str) -> AlreadyExists:
    return AlreadyExists(
        f"'{extension_id}' is installed already (or a source has that name): "
        f"use `tether ext update {extension_id} BUNDLE` for another version"
    )


class ExtensionRepository:
    _db: Database

    async def list_extensions(self) -> Sequence[InstalledExtension]:
        def work(conn: sa.Connection) -> list[InstalledExtension]:
            result = conn.execute(sa.select(extensions).order_by(extensions.c.id))
            return [_from_row(row) for row in result]

        return await self._db.read(work)

    async def get_extension(self, extension_id: str) -> InstalledExtension:
        def work(conn: sa.Connection) -> rows.AnyRow | None:
            return conn.execute(sa.select(extensions).where(extensions.c.id == extension_id)).first()

        row = await self._db.read(work)
        if row is None:
            raise _unknown(extension_id)
        return _from_row(row)

    async def add_extension(self, extension: InstalledExtension, source: SourceConfig) -> None:
        if source.name != extension.id:
            raise ValueError("an extension's source is named after the extension")
        stamp = rows.to_text(rows.now())

        def work(conn: sa.Connection) -> None:
            taken = conn.scalar(sa.select(sources.c.name).where(sources.c.name == source.name))
            if taken is not None:
                raise _exists(extension.id)
            try:
                conn.execute(
                    sa.insert(sources).values(
                        **rows.source_values(source), created_at=stamp, updated_at=stamp
                    )
                )
                conn.execute(sa.insert(extensions).values(**_values(extension)))
            except IntegrityError as error:  # another process won a race the check could not see
                raise _exists(extension.id) from error

        await self._db.write(work)

    async def replace_extension(self, extension: InstalledExtension) -> None:
        values = _values(extension)
        del values["id"], values["installed_at"]

        def work(conn: sa.Connection) -> None:
            result = conn.execute(
                sa.update(extensions).where(extensions.c.id == extension.id).values(**values)
            )
            if result.rowcount == 0:
                raise _unknown(extension.id)
            conn.execute(
                sa.update(sources)
                .where(sources.c.name == extension.id)
                .values(cwd=extension.install_dir, updated_at=values["updated_at"])
            )

        await self._db.write(work)

    async def remove_extension(self, extension_id: str) -> None:
        def work(conn: sa.Connection) -> None:
            result = conn.execute(sa.delete(extensions).where(extensions.c.id == extension_id))
            if result.rowcount == 0:
                raise _unknown(extension_id)
            conn.execute(sa.delete(sources).where(sources.c.name == extension_id))
            conn.execute(sa.delete(tools).where(tools.c.source == extension_id))
            conn.execute(sa.delete(policies).where(policies.c.source == extension_id))
            conn.execute(sa.delete(pins).where(pins.c.source == extension_id))

        await self._db.write(work)


def _values(extension: InstalledExtension) -> dict[str, Any]:
    return {
        "id": extension.id,
        "version": extension.version,
        "manifest": dict(extension.manifest),
        "install_dir": extension.install_dir,
        "signature": extension.signature,
        "signer": extension.signer,
        "settings": dict(extension.settings),
        "installed_at": rows.to_text(extension.installed_at),
        "updated_at": rows.to_text(extension.updated_at),
    }


def _from_row(row: rows.AnyRow) -> InstalledExtension:
    return InstalledExtension(
        id=row.id,
        version=row.version,
        manifest=cast(dict[str, Any], row.manifest),
        install_dir=row.install_dir,
        signature=row.signature,
        signer=row.signer,
        settings=cast(dict[str, Any], row.settings),
        installed_at=rows.from_text(row.installed_at),
        updated_at=rows.from_text(row.updated_at),
    )
