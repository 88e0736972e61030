"""reminder check: when the sweep must look at a case again, indexed, so a sweep reads only the cases due

NULL means "at the next sweep": every open case is looked at once after the upgrade.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("reminder_check_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_cases_status_check", "cases", ["status", "reminder_check_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_status_check", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("reminder_check_at")
