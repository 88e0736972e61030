"""surge_batches: the messages in a surge alert's thread that gather low- and normal-priority posts; cases.gathered_in

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "surge_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("surge_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entries", sa.JSON(), nullable=False),
        sa.Column("slack_ts", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surge_batches")),
    )
    op.create_index(op.f("ix_surge_batches_surge_id"), "surge_batches", ["surge_id"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("gathered_in", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("gathered_in")
    op.drop_index(op.f("ix_surge_batches_surge_id"), table_name="surge_batches")
    op.drop_table("surge_batches")
