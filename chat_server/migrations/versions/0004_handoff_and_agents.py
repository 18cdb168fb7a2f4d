"""Human handoff: agents and their sessions, conversation states, canned
responses, follow-ups left when nobody is online, and the tracker outbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="offline"),
        sa.Column("max_chats", sa.Integer(), nullable=False, server_default="3"),
        sa.Column("notify_mode", sa.String(20), nullable=False, server_default="always"),
        sa.Column("api_token_hash", sa.String(64), unique=True),
        sa.Column("last_assigned_at", TS),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "agent_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "agent_id", sa.Integer(), sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("assigned_agent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("handoff_reason", sa.String(40)))
        batch.add_column(sa.Column("queued_at", TS))
        batch.add_column(sa.Column("assigned_at", TS))
        batch.add_column(sa.Column("resolved_at", TS))
        batch.add_column(
            sa.Column("fallbacks_in_row", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("unread", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("followup_stage", sa.String(20)))
        batch.add_column(sa.Column("followup_text", sa.Text()))
        batch.add_column(sa.Column("csat_score", sa.Integer()))
        batch.add_column(sa.Column("csat_comment", sa.Text()))
        batch.create_foreign_key(
            "fk_conversations_agent", "agents", ["assigned_agent_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_conversations_state_updated", ["state", "updated_at"])
        batch.create_index("ix_conversations_agent_state", ["assigned_agent_id", "state"])
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("agent_id", sa.Integer(), nullable=True))
    op.create_table(
        "canned_responses",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("shortcut", sa.String(32), nullable=False, unique=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("agents.id", ondelete="SET NULL")),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "followups",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "visitor_id",
            sa.String(64),
            sa.ForeignKey("visitors.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("conversation_id", BigId, nullable=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="open"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("done_at", TS),
        sa.Column("done_by", sa.Integer(), sa.ForeignKey("agents.id", ondelete="SET NULL")),
    )
    op.create_index("ix_followups_status_created", "followups", ["status", "created_at"])
    op.create_table(
        "tracker_outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("visitor_id", sa.String(64), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_tracker_outbox_visitor_id", "tracker_outbox", ["visitor_id", "id"])


def downgrade() -> None:
    op.drop_table("tracker_outbox")
    op.drop_table("followups")
    op.drop_table("canned_responses")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("agent_id")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_agent_state")
        batch.drop_index("ix_conversations_state_updated")
        batch.drop_constraint("fk_conversations_agent", type_="foreignkey")
        for column in (
            "assigned_agent_id",
            "handoff_reason",
            "queued_at",
            "assigned_at",
            "resolved_at",
            "fallbacks_in_row",
            "unread",
            "followup_stage",
            "followup_text",
            "csat_score",
            "csat_comment",
        ):
            batch.drop_column(column)
    op.drop_table("agent_sessions")
    op.drop_table("agents")
