"""Manners: when the visitor last typed in the open chat (no opener over it).

``engagement_state.typing_at`` is set when the widget says the visitor is
typing (at most every few seconds) and cleared when they stop; a campaign is
not shown while it is recent. Decisions read it and never write it, so it
takes no part in the row's compare-and-set ``version``.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("engagement_state") as batch:
        batch.add_column(sa.Column("typing_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("engagement_state") as batch:
        batch.drop_column("typing_at")
