"""notifications: the transactional outbox of alert notifications

``notifications``: one row per notification (destination ``*``), written in the transaction that changed the
alerts, then one per notification and destination once the sender routed it; ``key`` is the idempotency key
(unique with the destination), ``status`` pending/routed/unrouted/sent/failed, ``next_attempt_at`` the time of
the next delivery attempt (retries back off across restarts).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("destination", sa.String(200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("sent_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.UniqueConstraint("key", "destination"),
    )
    op.create_index("ix_notifications_status_next", "notifications", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_status_next", table_name="notifications")
    op.drop_table("notifications")
