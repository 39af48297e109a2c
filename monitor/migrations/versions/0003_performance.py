"""model quality: per-window performance values (realized + estimated) and the labelled reference

``performance_values`` holds one row per window and metric, upserted while the window's labels arrive
(``provisional`` until the model's ``label_ttl`` has passed). ``performance_references`` holds what
``reference build`` computed on the labelled validation data: the reference metric values and the fitted
CBPE estimator, so the watcher never reads the validation file.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "performance_references",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=128), nullable=False),
        sa.Column("task", sa.String(length=50), nullable=False),
        sa.Column("n_rows", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name=op.f("fk_performance_references_model_id_models"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_performance_references")),
        sa.UniqueConstraint("model_id", "version", name=op.f("uq_performance_references_model_id_version")),
    )
    with op.batch_alter_table("performance_references") as batch:
        batch.create_index(batch.f("ix_performance_references_model_id"), ["model_id"], unique=False)
    op.create_table(
        "performance_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=100), nullable=False),
        sa.Column("window_start", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("window_end", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("n_predictions", sa.BigInteger(), nullable=False),
        sa.Column("n_labelled", sa.BigInteger(), nullable=False),
        sa.Column("realized", sa.Float(), nullable=True),
        sa.Column("realized_lower", sa.Float(), nullable=True),
        sa.Column("realized_upper", sa.Float(), nullable=True),
        sa.Column("estimated", sa.Float(), nullable=True),
        sa.Column("estimated_lower", sa.Float(), nullable=True),
        sa.Column("estimated_upper", sa.Float(), nullable=True),
        sa.Column("reference", sa.Float(), nullable=True),
        sa.Column("error", sa.Float(), nullable=True),
        sa.Column("estimate_reliable", sa.Boolean(), nullable=True),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name=op.f("fk_performance_values_model_id_models"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["window_id"], ["window_results.id"],
                                name=op.f("fk_performance_values_window_id_window_results"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_performance_values")),
        sa.UniqueConstraint("window_id", "metric", name=op.f("uq_performance_values_window_id_metric")),
    )
    with op.batch_alter_table("performance_values") as batch:
        batch.create_index("ix_performance_values_model_metric_end", ["model_id", "metric", "window_end"],
                           unique=False)


def downgrade() -> None:
    with op.batch_alter_table("performance_values") as batch:
        batch.drop_index("ix_performance_values_model_metric_end")
    op.drop_table("performance_values")
    with op.batch_alter_table("performance_references") as batch:
        batch.drop_index(batch.f("ix_performance_references_model_id"))
    op.drop_table("performance_references")
