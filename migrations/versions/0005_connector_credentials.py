"""connector credentials: the newest rotating refresh token (X) and its access token, one row per connector

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 12:00:00
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
        "connector_credentials",
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("seeded_from", sa.String(length=64), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connector", name=op.f("pk_connector_credentials")),
    )


def downgrade() -> None:
    op.drop_table("connector_credentials")
