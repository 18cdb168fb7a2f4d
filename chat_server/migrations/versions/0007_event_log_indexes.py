"""The interaction event log, ready for analytics.

Indexes for the dashboard's queries (by time, by visitor over time, by
conversation) and ``dedupe_key``: an event with a key is stored once, so a
conversion reported twice (a reloaded thank-you page) counts once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interaction_events") as batch:
        batch.add_column(sa.Column("dedupe_key", sa.String(200)))
    op.drop_index("ix_interaction_events_visitor", "interaction_events")
    op.create_index("ix_interaction_events_created", "interaction_events", ["created_at"])
    op.create_index(
        "ix_interaction_events_visitor_created", "interaction_events", ["visitor_id", "created_at"]
    )
    op.create_index("ix_interaction_events_conversation", "interaction_events", ["conversation_id"])
    op.create_index(
        "ux_interaction_events_dedupe_key", "interaction_events", ["dedupe_key"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ux_interaction_events_dedupe_key", "interaction_events")
    op.drop_index("ix_interaction_events_conversation", "interaction_events")
    op.drop_index("ix_interaction_events_visitor_created", "interaction_events")
    op.drop_index("ix_interaction_events_created", "interaction_events")
    op.create_index("ix_interaction_events_visitor", "interaction_events", ["visitor_id"])
    with op.batch_alter_table("interaction_events") as batch:
        batch.drop_column("dedupe_key")
