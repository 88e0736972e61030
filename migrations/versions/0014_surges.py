"""surges: one row per spike of mentions, with the alert that shows it; one ongoing at a time (unique `ongoing`)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "surges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ongoing", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("calm_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("peak_per_min", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("shown", sa.JSON(), nullable=False),
        sa.Column("slack_channel", sa.String(length=32), nullable=False),
        sa.Column("slack_ts", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surges")),
        sa.UniqueConstraint("ongoing", name=op.f("uq_surges_ongoing")),
    )
    op.create_index(op.f("ix_surges_started_at"), "surges", ["started_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_surges_started_at"), table_name="surges")
    op.drop_table("surges")
