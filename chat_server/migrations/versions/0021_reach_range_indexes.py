"""Two covering indexes on analytics_reach (issue 26 §3): the UTM table's
counts read one range of the index instead of every row of the table.

- ``ix_analytics_reach_kind_seen`` (kind, seen_hour): "each (source,
  visitor) pair seen in the range" is one range whatever the source; the
  (kind, dim, seen_hour) index needs a range per source, and PostgreSQL
  read the whole table instead (5 M events, 30 days: 240 → ~100 ms).
- ``ix_analytics_reach_visitor`` gains ``kind`` and includes ``dim`` and
  ``seen_hour``: the range's conversions find their visitors' sources by an
  index probe each instead of a hash of every pair (~90 → ~50 ms).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_analytics_reach_kind_seen",
        "analytics_reach",
        ["kind", "seen_hour"],
        postgresql_include=["dim", "visitor_key", "message_hour"],
    )
    op.drop_index("ix_analytics_reach_visitor", table_name="analytics_reach")
    op.create_index(
        "ix_analytics_reach_visitor",
        "analytics_reach",
        ["visitor_key", "kind"],
        postgresql_include=["dim", "seen_hour"],
    )


def downgrade() -> None:
    op.drop_index("ix_analytics_reach_visitor", table_name="analytics_reach")
    op.create_index("ix_analytics_reach_visitor", "analytics_reach", ["visitor_key"])
    op.drop_index("ix_analytics_reach_kind_seen", table_name="analytics_reach")
