"""handled deliveries: the key of each staff action, submission or event acted on, so a repeat acts once

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handled_deliveries",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_handled_deliveries")),
    )
    op.create_index(op.f("ix_handled_deliveries_handled_at"), "handled_deliveries", ["handled_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_handled_deliveries_handled_at"), table_name="handled_deliveries")
    op.drop_table("handled_deliveries")
