"""outbox severity: within a priority the worst new case goes first (its sentiment), and the ready index orders by it

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("severity", sa.Float(), nullable=False, server_default="0"))
    op.drop_index("ix_outbox_ready", table_name="outbox")
    op.create_index("ix_outbox_ready", "outbox", ["lane", "state", "priority_rank", "severity", "available_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_ready", table_name="outbox")
    op.create_index("ix_outbox_ready", "outbox", ["lane", "state", "priority_rank", "available_at"])
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("severity")
