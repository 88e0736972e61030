"""follow-through: sent-reminder markers, the next-response clock, snooze and follow-up promises

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 04:07:36

The lead relinks down_revision behind the connectors migration (0002) at merge time.
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
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("clock", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("clock_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_reminders_case_id_cases"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint(
            "case_id", "clock", "stage", "clock_start", name=op.f("uq_reminders_case_id_clock_stage_clock_start")
        ),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("awaiting_reply_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("follow_up_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("follow_up_by", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("follow_up_by")
        batch_op.drop_column("follow_up_at")
        batch_op.drop_column("snoozed_until")
        batch_op.drop_column("awaiting_reply_since")

    op.drop_table("reminders")
