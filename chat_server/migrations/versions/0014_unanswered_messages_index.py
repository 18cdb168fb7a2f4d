"""Messages still waiting for their bot turn: a partial index and a claim lease.

The unanswered-message sweep (services/unanswered.py) looks every few
seconds for visitor messages whose turn never ran because the database went
away mid-turn. Only those rows are in this index (``handled`` is false), so
the look-up costs nothing however many messages are stored.
``turn_claimed_at`` is the lease a node takes before running such a turn, so
that two nodes sweeping at once never answer a message twice.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None

UNHANDLED = sa.text("NOT handled")


def upgrade() -> None:
    op.add_column("messages", sa.Column("turn_claimed_at", sa.DateTime(timezone=True)))
    op.create_index(
        "ix_messages_unhandled",
        "messages",
        ["id"],
        postgresql_where=UNHANDLED,
        sqlite_where=UNHANDLED,
    )


def downgrade() -> None:
    op.drop_index("ix_messages_unhandled", "messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("turn_claimed_at")
