"""Storage on SQLAlchemy: the only package that knows SQL.

``open_store`` gives a ``SqlStore``, which implements ``tether.core.storage.Store`` on
SQLite (default, one file in the data dir) or PostgreSQL. Nothing outside this package
imports SQLAlchemy, Alembic or a database driver.
"""

from tether.store.db import SqlStore, open_store, upgrade_database
from tether.store.migrate import head_revision

__all__ = ["SqlStore", "head_revision", "open_store", "upgrade_database"]
