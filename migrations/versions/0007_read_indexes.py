"""read indexes: cases by status and time, by closing time and by owner; mentions by receipt; reminders by clock start

So /care stats, the digest, the Home tab and the sweep select what they need instead of scanning tables.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 13:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_cases_status_created", "cases", ["status", "created_at"]),
    ("ix_cases_created", "cases", ["created_at"]),
    ("ix_cases_closed", "cases", ["closed_at"]),
    ("ix_cases_owner_status", "cases", ["owner_id", "status"]),
    ("ix_mentions_received", "mentions", ["received_at"]),
    ("ix_reminders_clock_start", "reminders", ["clock_start"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
