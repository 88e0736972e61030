"""mentions: the triage verdict of each post (needs a reply, score, reason, praise or troll)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable: posts stored before the policy gave reasons keep none (their messages show the tone instead)
    with op.batch_alter_table("mentions") as batch:
        batch.add_column(sa.Column("needs_reply", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("triage_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("triage_reason", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("triage_kind", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        for column in ("triage_kind", "triage_reason", "triage_score", "needs_reply"):
            batch.drop_column(column)
