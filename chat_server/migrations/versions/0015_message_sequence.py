"""A gapless order of messages: per conversation (the console) and per visitor (the widget).

``messages.seq`` numbers a conversation's messages 1, 2, 3, ... and
``messages.visitor_seq`` numbers what a visitor may see (their messages, the
bot's and the agents', across their conversations). Both are taken from a
counter on the owning row (``conversations.last_seq``, ``visitors.last_seq``)
in the transaction that inserts the message, so they have no holes and are
committed in order even with several nodes writing (docs/protocol.md,
"Delivery order"). Existing rows are numbered in id order.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "conversations", sa.Column("last_seq", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "visitors", sa.Column("last_seq", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("messages", sa.Column("seq", sa.Integer()))
    op.add_column("messages", sa.Column("visitor_seq", sa.Integer()))
    # UPDATE ... FROM: PostgreSQL, and SQLite since 3.33.
    op.execute(
        "UPDATE messages SET seq = numbered.n FROM ("
        " SELECT id, ROW_NUMBER() OVER (PARTITION BY conversation_id ORDER BY id) AS n"
        " FROM messages) AS numbered WHERE numbered.id = messages.id"
    )
    op.execute(
        "UPDATE messages SET visitor_seq = numbered.n FROM ("
        " SELECT id, ROW_NUMBER() OVER (PARTITION BY visitor_id ORDER BY id) AS n"
        " FROM messages WHERE direction IN ('visitor', 'bot', 'agent')) AS numbered"
        " WHERE numbered.id = messages.id"
    )
    op.execute(
        "UPDATE conversations SET last_seq = COALESCE("
        "(SELECT MAX(seq) FROM messages WHERE messages.conversation_id = conversations.id), 0)"
    )
    op.execute(
        "UPDATE visitors SET last_seq = COALESCE("
        "(SELECT MAX(visitor_seq) FROM messages WHERE messages.visitor_id = visitors.id), 0)"
    )
    op.create_index("ix_messages_conversation_seq", "messages", ["conversation_id", "seq"])
    op.create_index("ix_messages_visitor_seq", "messages", ["visitor_id", "visitor_seq"])


def downgrade() -> None:
    op.drop_index("ix_messages_visitor_seq", "messages")
    op.drop_index("ix_messages_conversation_seq", "messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("visitor_seq")
        batch.drop_column("seq")
    with op.batch_alter_table("visitors") as batch:
        batch.drop_column("last_seq")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("last_seq")
