"""Hourly analytics rollups (issue 26 §3): the rows the dashboard reads
instead of scanning the whole event log, and their progress row.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "analytics_rollups",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("dim1", sa.Text(), nullable=True),
        sa.Column("dim2", sa.Text(), nullable=True),
        sa.Column("visitor_id", sa.String(64), nullable=True),
        sa.Column("conversation_id", sa.BigInteger(), nullable=True),
        sa.Column("flags", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("n", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("v1", sa.Float(), nullable=True),
        sa.Column("v2", sa.Float(), nullable=True),
    )
    op.create_index("ix_analytics_rollups_kind_hour", "analytics_rollups", ["kind", "hour"])
    # Nothing is stored yet: the first fold builds every hour from the log
    # (the dashboard reads the raw log until then).
    state = op.create_table(
        "analytics_rollup_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("watermark", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("latest_id", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("sealed_through", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.bulk_insert(state, [{"id": 1, "watermark": 0, "latest_id": 0}])


def downgrade() -> None:
    op.drop_table("analytics_rollup_state")
    op.drop_table("analytics_rollups")
