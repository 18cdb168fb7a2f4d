"""Verified customer identity on visitors.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visitors") as batch:
        batch.add_column(sa.Column("external_id", sa.String(200)))
        batch.create_index("ux_visitors_external_id", ["external_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("visitors") as batch:
        batch.drop_index("ux_visitors_external_id")
        batch.drop_column("external_id")
