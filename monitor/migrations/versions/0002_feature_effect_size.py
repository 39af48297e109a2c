"""feature results: effect size, adjusted p-value and alpha (preset ``default``'s two-part rule)

The default preset decides ``drifted = p_value_adjusted < alpha and effect_size >= threshold``; with only
``p_value`` and ``threshold`` stored, a reader could not tell how close a column was to drifting.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feature_results") as batch:
        batch.add_column(sa.Column("effect_size", sa.Float(), nullable=True))
        batch.add_column(sa.Column("p_value_adjusted", sa.Float(), nullable=True))
        batch.add_column(sa.Column("alpha", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feature_results") as batch:
        batch.drop_column("alpha")
        batch.drop_column("p_value_adjusted")
        batch.drop_column("effect_size")
