"""Visitor session ids that expire and rotate: a per-visitor generation.

A session id carries the generation it was issued for; bumping it (a new
visit, an identity change) makes every earlier copy stop working.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visitors") as batch:
        batch.add_column(
            sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("session_rotated_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("visitors") as batch:
        batch.drop_column("session_rotated_at")
        batch.drop_column("session_generation")
