"""private messages: a post may be a customer's DM; a case knows their last private (and last) message; history index

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-27 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # every post stored so far was public
    with op.batch_alter_table("mentions") as batch:
        batch.add_column(sa.Column("private", sa.Boolean(), nullable=False, server_default=sa.false()))
    # nullable: a case stored before knows neither (its follow-through clock counts from the move, as it did)
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("last_private_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_customer_at", sa.DateTime(timezone=True), nullable=True))
    # the case message names the customer's earlier cases: one index lookup, newest first
    op.create_index("ix_cases_author_history", "cases", ["platform", "author_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_cases_author_history", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("last_customer_at")
        batch.drop_column("last_private_at")
    with op.batch_alter_table("mentions") as batch:
        batch.drop_column("private")
