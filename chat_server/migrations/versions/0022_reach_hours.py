"""analytics_reach_hours (issue 26 §3): known visitors per last hour of each
measure (db/reach_hours.py), filled from the stored reach rows, so the
dashboard's visitor figures sum hours instead of visiting every visitor.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# The same measures as db/reach_hours.py MEASURES (a migration keeps its own copy).
MEASURES = {
    "seen": ("seen_hour",),
    "chat": ("message_hour",),
    "widget": ("widget_hour",),
    "widget_chat": ("widget_hour", "message_hour"),
    "chat_click": ("message_hour", "click_hour"),
    "chat_click_buy": ("message_hour", "click_hour", "conversion_hour"),
}


def upgrade() -> None:
    op.create_table(
        "analytics_reach_hours",
        sa.Column("measure", sa.String(16), primary_key=True),
        sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("visitors", sa.BigInteger(), nullable=False, server_default="0"),
    )
    least = "least" if op.get_bind().dialect.name == "postgresql" else "min"
    for measure, columns in MEASURES.items():
        if len(columns) == 1:
            hour = columns[0]
        else:
            nulls = " OR ".join(f"{c} IS NULL" for c in columns)
            hour = f"CASE WHEN {nulls} THEN NULL ELSE {least}({', '.join(columns)}) END"
        # The module's own constants, no input.
        op.execute(
            "INSERT INTO analytics_reach_hours (measure, hour, visitors) "  # noqa: S608
            f"SELECT '{measure}', h, count(*) FROM (SELECT {hour} AS h FROM analytics_reach "
            "WHERE kind = 'visitor' AND dim = '' AND visitor_key != '') AS r "
            "WHERE h IS NOT NULL GROUP BY h"
        )


def downgrade() -> None:
    op.drop_table("analytics_reach_hours")
