"""Add gateway tokens: bearer tokens for the HTTP gateway, stored as SHA-256 hashes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-07-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("sources", sa.JSON, nullable=True),
        sa.Column("uses_tool_search", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.String(40), nullable=True),
    )
    # One active token per name; revoked ones keep their row (and name) for the record.
    op.create_index(
        "ux_tokens_active_name",
        "tokens",
        ["name"],
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ux_tokens_active_name", table_name="tokens")
    op.drop_table("tokens")
