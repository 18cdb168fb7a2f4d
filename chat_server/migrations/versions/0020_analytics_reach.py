"""Analytics reach and daily visitors (issue 26 §3): what makes "distinct
visitors in the last N days" an index range (db/reach_queries.py); partial
indexes for the handoff episodes.

The new tables are derived from the stored rollups, so the stored rollups
are dropped and rebuilt by the next fold (minutes on millions of events; the
dashboard reads the raw log meanwhile, with the same answers).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

HANDOFF_TYPES = "type IN ('handoff_transition', 'agent_message')"


def upgrade() -> None:
    hour = sa.DateTime(timezone=True)
    op.create_table(
        "analytics_reach",
        sa.Column("kind", sa.String(10), primary_key=True),
        sa.Column("dim", sa.Text(), primary_key=True),
        sa.Column("visitor_key", sa.String(64), primary_key=True),
        sa.Column("seen_hour", hour, nullable=True),
        sa.Column("message_hour", hour, nullable=True),
        sa.Column("widget_hour", hour, nullable=True),
        sa.Column("click_hour", hour, nullable=True),
        sa.Column("conversion_hour", hour, nullable=True),
    )
    # Covering on PostgreSQL: the dashboard's counts read the index alone.
    op.create_index(
        "ix_analytics_reach_seen",
        "analytics_reach",
        ["kind", "dim", "seen_hour"],
        postgresql_include=[
            "visitor_key",
            "message_hour",
            "widget_hour",
            "click_hour",
            "conversion_hour",
        ],
    )
    op.create_index("ix_analytics_reach_visitor", "analytics_reach", ["visitor_key"])
    op.create_table(
        "analytics_daily",
        sa.Column("day", hour, primary_key=True),
        sa.Column("visitors", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_index("ix_analytics_rollups_visitor", "analytics_rollups", ["visitor_id"])
    op.create_index(
        "ix_analytics_rollups_conversation",
        "analytics_rollups",
        ["conversation_id"],
        postgresql_where=sa.text("kind = 'conversation'"),
        sqlite_where=sa.text("kind = 'conversation'"),
    )
    op.create_table(
        "analytics_conversation_flags",
        sa.Column("conversation_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("flags", sa.Integer(), nullable=False, server_default="0"),
    )
    # The dashboard's handoff episodes: a small slice of the log, read from
    # these partial indexes alone on PostgreSQL (INCLUDE).
    op.create_index(
        "ix_interaction_events_handoffs",
        "interaction_events",
        ["conversation_id", "created_at", "id"],
        postgresql_where=sa.text(HANDOFF_TYPES),
        sqlite_where=sa.text(HANDOFF_TYPES),
        postgresql_include=["type", "data"],
    )
    # A conversion's last message before it (analytics' attribution).
    op.create_index(
        "ix_interaction_events_messages",
        "interaction_events",
        ["visitor_id", "created_at"],
        postgresql_where=sa.text("type = 'message_received'"),
        sqlite_where=sa.text("type = 'message_received'"),
    )
    op.create_index(
        "ix_interaction_events_handoffs_created",
        "interaction_events",
        ["created_at"],
        postgresql_where=sa.text(HANDOFF_TYPES),
        sqlite_where=sa.text(HANDOFF_TYPES),
        postgresql_include=["conversation_id"],
    )
    # Rebuilt by the next fold, with the new tables and the new row kind.
    op.execute("DELETE FROM analytics_rollups")
    op.execute(
        "UPDATE analytics_rollup_state SET sealed_through = NULL, watermark = 0, latest_id = 0"
    )


def downgrade() -> None:
    op.drop_table("analytics_conversation_flags")
    op.drop_index("ix_analytics_rollups_conversation", table_name="analytics_rollups")
    op.drop_index("ix_interaction_events_handoffs_created", table_name="interaction_events")
    op.drop_index("ix_interaction_events_messages", table_name="interaction_events")
    op.drop_index("ix_interaction_events_handoffs", table_name="interaction_events")
    op.drop_index("ix_analytics_rollups_visitor", table_name="analytics_rollups")
    op.drop_table("analytics_daily")
    op.drop_table("analytics_reach")
    op.execute("DELETE FROM analytics_rollups")
    op.execute(
        "UPDATE analytics_rollup_state SET sealed_through = NULL, watermark = 0, latest_id = 0"
    )
