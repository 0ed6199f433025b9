"""Opening the store: ``open_store`` turns a data dir (SQLite) or a database URL into a ``SqlStore``.

Opening checks the data dir, connects, and applies pending migrations, so a store that
opened is ready to use. Every failure to get there is a ``StoreError`` saying what to do;
nothing here decides where the data dir is (that is ``tether.config``'s job).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Self

import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError

from tether.errors import StoreError
from tether.store.activity import ActivityRepository, append_batch
from tether.store.approvals import ApprovalRepository
from tether.store.chain import Unsealed
from tether.store.conversations import ConversationRepository
from tether.store.engine import Database
from tether.store.extensions import ExtensionRepository
from tether.store.hotpath import GroupCommit, ReadCache
from tether.store.lane import SqliteLane
from tether.store.migrate import apply_migrations, database_revision
from tether.store.policies import PolicyRepository
from tether.store.settings import SettingsRepository
from tether.store.sources import CatalogRepository, SourceRepository
from tether.store.tokens import TokenRepository
from tether.store.verdicts import VerdictSignals
from tether.types import ActivityRecord

DATABASE_FILE = "tether.db"


class SqlStore(
    SourceRepository,
    CatalogRepository,
    PolicyRepository,
    SettingsRepository,
    ApprovalRepository,
    ActivityRepository,
    ConversationRepository,
    TokenRepository,
    ExtensionRepository,
):
    """The ``tether.core.storage.Store`` on SQLAlchemy. Open with ``open_store``; close when done."""

    def __init__(self, db: Database, lane: SqliteLane | None = None) -> None:
        self._db = db
        self._lane = lane
        self.verdicts = VerdictSignals()
        # On SQLite what every call does (read its policy, append its row) goes through the lane.
        self._cache = ReadCache(lane) if lane is not None else None
        self._appends = (
            GroupCommit[Unsealed, ActivityRecord](lane, append_batch) if lane is not None else None
        )

    @property
    def where(self) -> str:
        """The data dir, or the database URL without its password."""
        return self._db.where

    async def revision(self) -> str | None:
        """The schema revision the database is at."""
        return await database_revision(self._db)

    async def close(self) -> None:
        try:
            if self._lane is not None:
                await self._lane.close()
        finally:
            await self._db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def open_store(location: Path | str, *, upgrade: bool = True) -> SqlStore:
    """Open the store in a data dir (``<dir>/tether.db``, created if needed) or at a database URL.

    A ``Path`` is a data dir; a ``str`` is a SQLAlchemy URL such as
    ``postgresql://user@host/tether`` (the async driver is filled in). Pending migrations
    are applied unless ``upgrade`` is false.
    """
    db = await _connect(location)
    try:
        if upgrade:
            await apply_migrations(db)
        else:
            # Still touch the database, so a damaged file is reported here and not later.
            await database_revision(db)
        lane = await SqliteLane.open(db.sqlite_path, where=db.where) if db.sqlite_path else None
    except BaseException:
        await db.close()
        raise
    return SqlStore(db, lane)


async def upgrade_database(location: Path | str) -> str | None:
    """Apply pending migrations to the store at ``location``; return the revision it is at now.

    This is ``tether db upgrade``. Opening a store upgrades it too, so this is for doing it
    ahead of time (say, before starting several tether processes on one PostgreSQL).
    """
    async with await open_store(location) as store:
        return await store.revision()


def describe_location(location: Path | str) -> str:
    """What to show for ``location``: the data dir, or the database URL with its password masked."""
    if isinstance(location, str) and "://" in location:
        try:
            return _masked(sa.make_url(location))
        except (ArgumentError, ValueError):
            return "a database URL that cannot be read"
    return str(location)


def _masked(url: sa.URL) -> str:
    """``url`` to show: its password, also one given as ``?password=`` (asyncpg takes it), masked."""
    hidden = {key: "***" for key in url.query if "password" in key.lower()}
    shown = url.update_query_dict(hidden).render_as_string(hide_password=True)
    return shown.replace("=%2A%2A%2A", "=***")  # the query is URL-encoded as rendered


def url_with_password(url: str, password: str | None) -> str:
    """``url`` with ``password`` filled in, unless it has one already (or cannot be read)."""
    if not password:
        return url
    try:
        parsed = sa.make_url(url)
    except (ArgumentError, ValueError):
        return url  # opening it says what is wrong, without repeating it
    if parsed.password is not None:
        return url
    return parsed.set(password=password).render_as_string(hide_password=False)


def url_has_password(url: str) -> bool:
    """True if ``url`` carries a password, as ``user:password@`` or as ``?password=`` (asyncpg reads both)."""
    try:
        parsed = sa.make_url(url)
    except (ArgumentError, ValueError):
        return False
    return parsed.password is not None or "password" in parsed.query


async def _connect(location: Path | str) -> Database:
    if isinstance(location, str) and "://" in location:
        try:
            where = _masked(sa.make_url(location))
        except (ArgumentError, ValueError):
            # The parser's message repeats the URL, password included: say only what to write.
            raise StoreError(
                "cannot read the database URL: write it as postgresql://USER:PASSWORD@HOST:5432/DATABASE"
            ) from None
        try:
            return Database.connect(location, where=where)
        except ImportError as error:
            raise StoreError(
                f"cannot use the database {where}: its driver is not installed ({error.name}): "
                "install tether with the team extra, e.g. `pip install 'tether[team]'`"
            ) from error
        except ArgumentError as error:
            raise StoreError(f"cannot use the database URL {where}: {error}") from error
    data_dir = Path(location)
    database = await anyio.to_thread.run_sync(_prepare_data_dir, data_dir)
    return Database.connect(sa.URL.create("sqlite", database=str(database)), where=str(data_dir))


def _prepare_data_dir(data_dir: Path) -> Path:
    """Create ``data_dir`` if needed and check tether can write there; return the database path."""
    hint = "set TETHER_HOME to a writable directory"
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError as error:
        raise StoreError(f"the data dir {data_dir} is a file, not a directory: {hint}") from error
    except OSError as error:
        raise StoreError(f"cannot create the data dir {data_dir} ({error.strerror}): {hint}") from error
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise StoreError(f"the data dir {data_dir} is read-only: make it writable, or {hint}")
    database = data_dir / DATABASE_FILE
    if database.exists() and not database.is_file():
        raise StoreError(f"{database} is not a file: move it aside, or {hint}")
    if database.exists() and not os.access(database, os.R_OK | os.W_OK):
        raise StoreError(f"{database} is read-only: make it writable, or {hint}")
    return database.resolve()
