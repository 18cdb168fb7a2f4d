"""Dashboards count distinct visitors per event type and time range: make the
(type, created_at) index cover visitor_id, so PostgreSQL answers those counts
from the index alone (an index-only scan) instead of reading every row.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_interaction_events_type_created_visitor",
        "interaction_events",
        ["type", "created_at", "visitor_id"],
    )
    op.drop_index("ix_interaction_events_type_created", "interaction_events")


def downgrade() -> None:
    op.create_index(
        "ix_interaction_events_type_created", "interaction_events", ["type", "created_at"]
    )
    op.drop_index("ix_interaction_events_type_created_visitor", "interaction_events")
