"""Proactive engagement: visitor traits, segments, campaigns, experiment assignments.

``visitor_traits`` and ``visitor_tags`` summarise the interaction log per
visitor so segments count with indexed queries; they start empty and are
kept up to date as events arrive (visitors seen before the upgrade get a row
with their next event: docs/segments.md). ``campaigns`` hold rules, variants and the holdout share;
``campaign_assignments`` the arm of each unit; ``engagement_state`` the
per-unit manners (caps, cooldowns) updated with compare-and-set.
``conversations`` name the campaign and arm whose opener started them.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "visitor_traits",
        sa.Column("visitor_id", sa.String(64), primary_key=True),
        sa.Column("identified", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("visits", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("page_views", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("visit_started_at", TS, nullable=False),
        sa.Column("first_source", sa.String(100)),
        sa.Column("first_medium", sa.String(100)),
        sa.Column("first_campaign", sa.String(100)),
        sa.Column("first_referrer", sa.String(255)),
        sa.Column("last_source", sa.String(100)),
        sa.Column("last_medium", sa.String(100)),
        sa.Column("last_campaign", sa.String(100)),
        sa.Column("last_referrer", sa.String(255)),
        sa.Column("device", sa.String(10)),
        sa.Column("language", sa.String(16)),
        sa.Column("conversions", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("conversion_value", sa.Float(), nullable=False, server_default="0"),
        sa.Column("csat_score", sa.Integer()),
        sa.Column("nps_score", sa.Integer()),
        sa.Column("consent", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("budget", sa.Float()),
    )
    for name, column in [
        ("last_seen", "last_seen_at"),
        ("first_seen", "first_seen_at"),
        ("visits", "visits"),
        ("identified", "identified"),
        ("device", "device"),
        ("language", "language"),
        ("first_source", "first_source"),
        ("last_source", "last_source"),
        ("conversions", "conversions"),
    ]:
        op.create_index(f"ix_visitor_traits_{name}", "visitor_traits", [column])

    op.create_table(
        "visitor_tags",
        sa.Column("visitor_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("value", sa.String(100), primary_key=True),
    )
    op.create_index("ix_visitor_tags_kind_value", "visitor_tags", ["kind", "value"])

    op.create_table(
        "segments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("description", sa.Text()),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("agents.id", ondelete="SET NULL")),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("archived_at", TS),
    )

    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("holdout", sa.Float(), nullable=False, server_default="0.1"),
        sa.Column("goal", sa.JSON(), nullable=False),
        sa.Column("segment_id", sa.Integer(), sa.ForeignKey("segments.id", ondelete="RESTRICT")),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id", ondelete="SET NULL")),
        sa.Column("starts_at", TS),
        sa.Column("ends_at", TS),
        sa.Column("per_visitor_cap", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("cooldown_hours", sa.Integer(), nullable=False, server_default="72"),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("campaigns.id", ondelete="SET NULL")),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("agents.id", ondelete="SET NULL")),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("started_at", TS),
        sa.Column("ended_at", TS),
    )
    op.create_index("ix_campaigns_status_priority", "campaigns", ["status", "priority"])

    op.create_table(
        "campaign_assignments",
        sa.Column(
            "campaign_id",
            sa.Integer(),
            sa.ForeignKey("campaigns.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("unit", sa.String(64), primary_key=True),
        sa.Column("arm", sa.String(32), nullable=False),
        sa.Column("assigned_at", TS, nullable=False),
        sa.Column("first_exposed_at", TS),
        sa.Column("exposures", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_campaign_assignments_arm", "campaign_assignments", ["campaign_id", "arm"])

    op.create_table(
        "engagement_state",
        sa.Column("unit", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("shown", sa.JSON(), nullable=False),
        sa.Column("visit_started_at", TS),
        sa.Column("dismissed", sa.JSON(), nullable=False),
        sa.Column("last_dismiss_at", TS),
        sa.Column("updated_at", TS, nullable=False),
    )

    op.add_column("conversations", sa.Column("campaign_id", sa.Integer()))
    op.add_column("conversations", sa.Column("campaign_arm", sa.String(32)))


def downgrade() -> None:
    op.drop_column("conversations", "campaign_arm")
    op.drop_column("conversations", "campaign_id")
    op.drop_table("engagement_state")
    op.drop_index("ix_campaign_assignments_arm", "campaign_assignments")
    op.drop_table("campaign_assignments")
    op.drop_index("ix_campaigns_status_priority", "campaigns")
    op.drop_table("campaigns")
    op.drop_table("segments")
    op.drop_index("ix_visitor_tags_kind_value", "visitor_tags")
    op.drop_table("visitor_tags")
    for name in [
        "last_seen",
        "first_seen",
        "visits",
        "identified",
        "device",
        "language",
        "first_source",
        "last_source",
        "conversions",
    ]:
        op.drop_index(f"ix_visitor_traits_{name}", "visitor_traits")
    op.drop_table("visitor_traits")
