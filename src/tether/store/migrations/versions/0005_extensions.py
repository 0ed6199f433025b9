"""Add extensions: installed MCPB bundles (manifest, unpacked dir, signature, settings).

Sensitive settings are not here: they are in the secret store.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "extensions",
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


def downgrade() -> None:
    op.drop_table("extensions")
