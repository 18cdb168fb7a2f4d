"""Agent accounts: deactivation, and sign-in failures counted per account name.

``agents.deactivated_at`` set: the account can no longer sign in or use a
token (its history stays). ``login_failures`` counts failed sign-ins per
account name (known or not) across every address, for the growing delay of
services/login_throttle.py; a row is removed by a successful sign-in.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("agents", sa.Column("deactivated_at", sa.DateTime(timezone=True)))
    op.create_table(
        "login_failures",
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_login_failures_last_failure_at", "login_failures", ["last_failure_at"])


def downgrade() -> None:
    op.drop_index("ix_login_failures_last_failure_at", "login_failures")
    op.drop_table("login_failures")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("deactivated_at")
