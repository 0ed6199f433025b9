"""Create the first schema: sources, tools, policies, approvals, activity, activity_head.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    # effect is data's "effect", computed by the database so it cannot drift from the hashed data.
    if op.get_bind().dialect.name == "postgresql":
        effect = "(data::jsonb ->> 'effect')"
    else:
        effect = "json_extract(data, '$.effect')"
    op.create_table(
        "sources",
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
    op.create_table(
        "tools",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("definition_hash", sa.String(64), nullable=False),
        sa.Column("seen_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "policies",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("tool", sa.String(200), primary_key=True),
        sa.Column("effect", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "approvals",
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
    )
    op.create_index("ix_approvals_verdict", "approvals", ["verdict"])
    op.create_table(
        "activity",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(400), nullable=False),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("tool", sa.String(200), nullable=True),
        sa.Column("effect", sa.String(16), sa.Computed(effect, persisted=True), nullable=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    for column in ("source", "tool", "kind", "effect", "at"):
        op.create_index(f"ix_activity_{column}", "activity", [column])
    head = op.create_table(
        "activity_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_activity_head_single_row"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])


def downgrade() -> None:
    op.drop_table("activity_head")
    for column in ("source", "tool", "kind", "effect", "at"):
        op.drop_index(f"ix_activity_{column}", "activity")
    op.drop_table("activity")
    op.drop_index("ix_approvals_verdict", "approvals")
    op.drop_table("approvals")
    op.drop_table("policies")
    op.drop_table("tools")
    op.drop_table("sources")
