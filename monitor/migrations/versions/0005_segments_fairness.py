"""segments and fairness: per-segment window rows, fairness rows, and the segment of an alert

``segment_results``: one row per window and segment (``key=value``) tested when the window closed.
``fairness_results``: one row per window, sensitive attribute and fairness metric. ``alerts.segment``:
the segment a per-segment alert is about (null for population alerts).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segment_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("window_id", sa.Integer(), sa.ForeignKey("window_results.id", ondelete="CASCADE"), nullable=False),
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
        sa.Column("segment", sa.String(300), nullable=False),
        sa.Column("window_start", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("window_end", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("n_events", sa.BigInteger(), nullable=False),
        sa.Column("drift_share", sa.Float(), nullable=True),
        sa.Column("drifted_columns", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("alerted", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("window_id", "segment"),
    )
    op.create_index("ix_segment_results_model_end", "segment_results", ["model_id", "window_end"])
    op.create_table(
        "fairness_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("window_id", sa.Integer(), sa.ForeignKey("window_results.id", ondelete="CASCADE"), nullable=False),
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
        sa.Column("attribute", sa.String(200), nullable=False),
        sa.Column("metric", sa.String(100), nullable=False),
        sa.Column("window_start", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("window_end", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("lower", sa.Float(), nullable=True),
        sa.Column("upper", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("violated", sa.Boolean(), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.UniqueConstraint("window_id", "attribute", "metric"),
    )
    op.create_index("ix_fairness_results_model_end", "fairness_results", ["model_id", "window_end"])
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("segment", sa.String(300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("segment")
    op.drop_index("ix_fairness_results_model_end", table_name="fairness_results")
    op.drop_table("fairness_results")
    op.drop_index("ix_segment_results_model_end", table_name="segment_results")
    op.drop_table("segment_results")
