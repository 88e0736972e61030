"""figures in SQL: each case's first-response wait stored, and covering indexes for a period's figures

`/care stats`, the digest and the Home tab count and rank a period's cases with GROUP BY instead of
loading them: the wait (`first_response_at - created_at`, in microseconds) is a column, and the indexes
on creation, closing and status carry the columns the figures group by, so SQLite never reads the table
for them (the open cases' index is in grouping order, so they are counted without a sort). A person's
queue is counted by priority and listed oldest first from one index.

Only the wait is stored, not the SLA outcome: the outcome depends on the case's *current* priority
(escalations change it after the answer) and on the configured targets and business hours, none of
which the row can know for good; the figures judge it at read time (in SQL for round-the-clock hours).
The backfill computes the wait in Python, in batches by id, as `bot.models` does for new answers (the
two timestamps come back both naive on SQLite, both aware on PostgreSQL), so it is exact on every
backend (SQLite's julianday() keeps only milliseconds).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 18:30:00
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BATCH = 10_000
MICROSECOND = timedelta(microseconds=1)
KEYS = ["platform", "owner_id", "priority"]
OLD = [
    ("ix_cases_created", "cases", ["created_at"]),
    ("ix_cases_closed", "cases", ["closed_at"]),
    ("ix_cases_owner_status", "cases", ["owner_id", "status"]),
    ("ix_mentions_received", "mentions", ["received_at"]),
]
NEW = [
    ("ix_cases_created_facts", "cases", ["created_at", *KEYS, "first_response_wait"]),
    ("ix_cases_closed_facts", "cases", ["closed_at", "status", "created_at", *KEYS]),
    ("ix_cases_status_facts", "cases", ["status", *KEYS, "created_at", "first_response_wait"]),
    ("ix_cases_owner_queue", "cases", ["owner_id", "status", "priority", "created_at"]),
    ("ix_mentions_received_sentiment", "mentions", ["received_at", "sentiment"]),
]


def _backfill() -> None:
    cases = sa.table(
        "cases",
        sa.column("id", sa.Integer),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("first_response_at", sa.DateTime(timezone=True)),
        sa.column("first_response_wait", sa.BigInteger),
    )
    conn = op.get_bind()
    update = (
        sa.update(cases).where(cases.c.id == sa.bindparam("case_id")).values(first_response_wait=sa.bindparam("wait"))
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(cases.c.id, cases.c.created_at, cases.c.first_response_at)
            .where(cases.c.id > last, cases.c.first_response_at.is_not(None))
            .order_by(cases.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        conn.execute(update, [{"case_id": i, "wait": (f - c) // MICROSECOND} for i, c, f in rows])
        last = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("first_response_wait", sa.BigInteger(), nullable=True))
    _backfill()
    for name, table, _ in OLD:
        op.drop_index(name, table_name=table)
    for name, table, columns in NEW:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(NEW):
        op.drop_index(name, table_name=table)
    for name, table, columns in OLD:
        op.create_index(name, table, columns)
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("first_response_wait")
