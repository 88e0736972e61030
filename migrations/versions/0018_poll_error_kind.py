"""poll_cursors: what kind of failure the last poll was (credentials refused, rate-limited, failing)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # /readyz tells an operator each connector's state: "credentials refused" needs a person, "rate-limited" not
    with op.batch_alter_table("poll_cursors") as batch:
        batch.add_column(sa.Column("last_error_kind", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("poll_cursors") as batch:
        batch.drop_column("last_error_kind")
