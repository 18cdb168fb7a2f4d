"""Delivery guarantees: client message ids, and whether a visitor message was handled.

A client names each message it sends (``client_id``); a retry with the same
name is recognised (unique per visitor) and never stored or answered twice.
``handled`` is false while the bot's turn for a visitor message is still to
run, so a retry after a crash answers it instead of dropping it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("client_id", sa.String(64)))
        batch.add_column(
            sa.Column("handled", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_index(
        "ux_messages_visitor_client_id", "messages", ["visitor_id", "client_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ux_messages_visitor_client_id", "messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("handled")
        batch.drop_column("client_id")
