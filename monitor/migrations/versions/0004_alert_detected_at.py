"""alerts: when an incident was detected (event time), and whether an early test inside an open window raised it

``detected_at`` is the event time at which the alert was raised: the window's end for an alert raised when
its window closed, the event time of the last event tested for an early alert raised inside an open window.
``early`` marks the latter, and ``detected_events`` says on how many of the window's events the early test
decided (null for window-close alerts). Existing alerts were all raised at a window's close, so their
``detected_at`` is their ``first_seen`` (the first window's end).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("detected_at", sa.TIMESTAMP(timezone=True), nullable=True))
        batch.add_column(sa.Column("early", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("detected_events", sa.BigInteger(), nullable=True))
    op.execute("UPDATE alerts SET detected_at = first_seen")
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("detected_at", existing_type=sa.TIMESTAMP(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("detected_events")
        batch.drop_column("early")
        batch.drop_column("detected_at")
