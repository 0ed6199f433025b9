"""The tables tether keeps, as SQLAlchemy Core metadata.

This is the shape the code expects at the head migration; Alembic migrations in
``migrations/versions`` are what create and change it. Never call ``metadata.create_all``
on a real database: add a migration instead.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Timestamps are ISO 8601 text in UTC with a fixed shape (microseconds, "+00:00"), so they
# sort as text and parse back to the datetime that was hashed.
sources = sa.Table(
    "sources",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("command", sa.Text, nullable=True),
    sa.Column("args", sa.JSON, nullable=False),
    sa.Column("env", sa.JSON, nullable=False),
    sa.Column("cwd", sa.Text, nullable=True),
    sa.Column("url", sa.Text, nullable=True),
    sa.Column("is_enabled", sa.Boolean, nullable=False),
    sa.Column("call_timeout_s", sa.Float, nullable=False),
    sa.Column("skip_approvals", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)

tools = sa.Table(
    "tools",
    metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("seen_at", sa.String(40), nullable=False),
)

policies = sa.Table(
    "policies",
    metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("tool", sa.String(200), primary_key=True),
    sa.Column("effect", sa.String(16), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)

# The definition a person approved for a tool; a different one later makes the tool ask again.
pins = sa.Table(
    "pins",
    metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("tool", sa.String(200), primary_key=True),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("definition_hash", sa.String(64), nullable=False),
    sa.Column("pinned_at", sa.String(40), nullable=False),
)

# Small JSON values by key, shared by every process on the database (e.g. policy rules).
settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)

approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("tool", sa.String(200), nullable=False),
    sa.Column("qualified_name", sa.String(401), nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("arguments", sa.JSON, nullable=False),
    sa.Column("actor", sa.String(400), nullable=False),
    sa.Column("decision", sa.JSON, nullable=False),
    sa.Column("requested_at", sa.String(40), nullable=False),
    sa.Column("verdict", sa.String(32), nullable=True),
    sa.Column("decided_by", sa.String(400), nullable=True),
    sa.Column("decided_at", sa.String(40), nullable=True),
    sa.Index("ix_approvals_verdict", "verdict"),
)

activity = sa.Table(
    "activity",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("actor", sa.String(400), nullable=False),
    sa.Column("source", sa.String(200), nullable=True),
    sa.Column("tool", sa.String(200), nullable=True),
    # data's "effect", computed by the database (for filtering) so it cannot be edited apart
    # from the hashed data. The SQLite expression; the migration picks each dialect's own.
    sa.Column("effect", sa.String(16), sa.Computed("json_extract(data, '$.effect')", persisted=True)),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    # No index on kind or effect: each index is a page more per append (every call appends),
    # and with a handful of values they rarely help; filtering on them scans (~20 ms/100k rows).
    sa.Index("ix_activity_source", "source"),
    sa.Index("ix_activity_tool", "tool"),
    sa.Index("ix_activity_at", "at"),
)

# One row (id = 1): the seq and hash of the newest activity row. Updated in the same
# transaction as every insert, so it is the row writers lock on PostgreSQL and the
# witness that shows a truncated tail.
activity_head = sa.Table(
    "activity_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.CheckConstraint("id = 1", name="ck_activity_head_single_row"),
)

# Where the log starts after old rows were pruned: the seq and hash of the last removed row
# (the first kept row links to it), when, and how many rows went. One row per prune; the
# newest (highest seq) is where ``verify`` starts.
activity_checkpoint = sa.Table(
    "activity_checkpoint",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("removed", sa.Integer, nullable=False),
)
