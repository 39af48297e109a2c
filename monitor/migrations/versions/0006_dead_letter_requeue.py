"""dead letters: the original key, and when and how often a dead letter was produced back to its topic

``dead_letters.key``: the message's Kafka key (null for a file source or a message without one).
``dead_letters.requeued_at`` / ``requeue_count``: set by ``driftwarden deadletters requeue``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("requeued_at", sa.TIMESTAMP(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("requeue_count", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_column("requeue_count")
        batch_op.drop_column("requeued_at")
        batch_op.drop_column("key")
