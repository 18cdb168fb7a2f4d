"""Indexes that let the bot's tracker store load a bounded window of a session.

The tracker store (bot/storage/tracker_store.py) reads the last turns of the
current session by id range, and the latest value of each slot from before the
window. `(sender_id, id)` makes the first a range scan; `(sender_id,
type_name, action_name, id)` makes the second an index-only scan (for slot
events `action_name` holds the slot's name).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not sa.inspect(op.get_bind()).has_table("events"):
        return  # created by migration 0003; absent only if someone dropped it
    op.create_index("ix_events_sender_id_id", "events", ["sender_id", "id"], if_not_exists=True)
    op.create_index(
        "ix_events_sender_type_action_id",
        "events",
        ["sender_id", "type_name", "action_name", "id"],
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("ix_events_sender_type_action_id", "events")
    op.drop_index("ix_events_sender_id_id", "events")
