"""The email outbox (issue 25): every email Rapport sends, queued in the
transaction that decides to send it, then delivered with retries; and an
index on messages (direction, created_at) for the reply mail sweep.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "email_outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=True, unique=True),
        sa.Column("to_address", sa.String(320), nullable=False),
        sa.Column("visitor_id", sa.String(64), nullable=True),
        sa.Column("conversation_id", BigId, nullable=True),
        sa.Column("through_message_id", BigId, nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_email_outbox_due", "email_outbox", ["status", "next_attempt_at"])
    op.create_index("ix_email_outbox_to", "email_outbox", ["to_address", "kind", "created_at"])
    op.create_index("ix_email_outbox_visitor", "email_outbox", ["visitor_id", "kind", "created_at"])
    op.create_index("ix_email_outbox_created", "email_outbox", ["created_at"])
    op.create_index("ix_email_outbox_conversation", "email_outbox", ["conversation_id", "kind"])
    # The reply mail sweep reads agent messages of the last days by this index.
    op.create_index("ix_messages_direction_created", "messages", ["direction", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_direction_created", table_name="messages")
    op.drop_table("email_outbox")
