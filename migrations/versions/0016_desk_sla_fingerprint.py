"""desk_start.sla_fingerprint: the SLA settings the open cases' reminder checks were last planned with

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26 22:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("desk_start") as batch:
        batch.add_column(sa.Column("sla_fingerprint", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("desk_start") as batch:
        batch.drop_column("sla_fingerprint")
