"""alerts: who is on it (``assignee``) and until when it is quiet (``snoozed_until``)

``assignee``: the person an alert is assigned to (null: nobody). ``snoozed_until``: until this time, changes
made by windows (seen again, escalated, auto-resolved) are recorded but not notified.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 03:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("assignee", sa.String(200), nullable=True))
        batch.add_column(sa.Column("snoozed_until", sa.TIMESTAMP(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("snoozed_until")
        batch.drop_column("assignee")
