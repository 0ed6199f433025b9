"""Add activity_checkpoint (where the log starts after a prune); drop two activity indexes.

Every call appends a row, and each index is one more page written per commit: kind and
effect have a handful of values, so their indexes cost every call and rarely help a query.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_activity_kind", "activity")
    op.drop_index("ix_activity_effect", "activity")
    op.create_table(
        "activity_checkpoint",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("removed", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("activity_checkpoint")
    op.create_index("ix_activity_effect", "activity", ["effect"])
    op.create_index("ix_activity_kind", "activity", ["kind"])
