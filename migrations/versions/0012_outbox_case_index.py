"""outbox: index the items of a case by state, so a lease's "older item still pending?" question is a lookup

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 18:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_case_state", "outbox", ["case_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_outbox_case_state", table_name="outbox")
