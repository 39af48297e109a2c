"""incidents: alerts of one model grouped by time, and each alert's incident

``incidents``: one row per group of alerts (:mod:`monitor.alerts.incidents`). ``alerts.incident_id``: the
incident an alert belongs to (null for alerts written before this revision).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model_id", sa.Integer(), sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("top_signal", sa.String(100), nullable=False),
        sa.Column("top_feature", sa.String(200), nullable=True),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("first_seen", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("last_seen", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("last_opened", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("alerts_count", sa.Integer(), nullable=False),
        sa.Column("acknowledged_by", sa.String(200), nullable=True),
        sa.Column("acknowledged_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.TIMESTAMP(timezone=True), nullable=True),
    )
    op.create_index("ix_incidents_model_status", "incidents", ["model_id", "status"])
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_alerts_incident_id", "incidents", ["incident_id"], ["id"], ondelete="SET NULL")
        batch.create_index("ix_alerts_incident_id", ["incident_id"])


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_index("ix_alerts_incident_id")
        batch.drop_constraint("fk_alerts_incident_id", type_="foreignkey")
        batch.drop_column("incident_id")
    op.drop_index("ix_incidents_model_status", table_name="incidents")
    op.drop_table("incidents")
