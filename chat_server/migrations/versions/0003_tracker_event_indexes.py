"""Indexes for Rasa's tracker store table (`events`) in the project database.

Rasa's SQLTrackerStore indexes only `sender_id`; finding the start of a
visitor's latest session then reads every event the visitor ever had, so a
loyal visitor's turns get slower with their lifetime history. These indexes
let the latest session be found and loaded by range. The table is created
here (with Rasa 3.6's exact columns) when the chat server migrates first;
Rasa's own `create_all` then finds it and leaves it alone.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not sa.inspect(op.get_bind()).has_table("events"):
        op.create_table(
            "events",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("sender_id", sa.String(255), nullable=False, index=True),
            sa.Column("type_name", sa.String(255), nullable=False),
            sa.Column("timestamp", sa.Float()),
            sa.Column("intent_name", sa.String(255)),
            sa.Column("action_name", sa.String(255)),
            sa.Column("data", sa.Text()),
        )
    op.create_index(
        "ix_events_sender_type_timestamp",
        "events",
        ["sender_id", "type_name", "timestamp"],
        if_not_exists=True,
    )
    op.create_index(
        "ix_events_sender_timestamp", "events", ["sender_id", "timestamp"], if_not_exists=True
    )


def downgrade() -> None:
    op.drop_index("ix_events_sender_timestamp", "events")
    op.drop_index("ix_events_sender_type_timestamp", "events")
