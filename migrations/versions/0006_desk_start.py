"""desk start: when the desk first ran (one row), so the first digest covers its first whole day

An existing desk is taken to have started with its first case; a new one records its start when it
first runs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_start",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_start")),
    )
    op.execute(
        "INSERT INTO desk_start (id, started_at) "
        "SELECT 1, MIN(created_at) FROM cases HAVING MIN(created_at) IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("desk_start")
