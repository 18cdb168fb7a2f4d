"""A SQL tracker store whose per-turn cost does not grow with lifetime history.

Rasa 3.6's ``SQLTrackerStore`` finds the latest session with one query that
ORs a "timestamp >= (latest session start)" subquery with "no session
start", which the database can only evaluate by reading *every* event the
visitor ever had — on every load and again on every save. For a loyal
visitor that is thousands of rows per turn, growing forever.

Here the session start is looked up first (one index probe on
``(sender_id, type_name, timestamp)``), then only that session's events are
read by range on ``(sender_id, timestamp)``. Both indexes are created by the
chat server's migration 0003. Behaviour is otherwise Rasa's own: the same
table, the same events, slots carried over by ``action_session_start``.
"""

from __future__ import annotations

from typing import Any, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted


class SessionScopedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` that reads only the latest session, by index range."""

    def _event_query(
        self, session: Any, sender_id: Text, fetch_events_from_all_sessions: bool
    ) -> Any:
        query = session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == sender_id)
        if not fetch_events_from_all_sessions:
            session_start = (
                session.query(sa.func.max(self.SQLEvent.timestamp))
                .filter(
                    self.SQLEvent.sender_id == sender_id,
                    self.SQLEvent.type_name == SessionStarted.type_name,
                )
                .scalar()
            )
            if session_start is not None:
                query = query.filter(self.SQLEvent.timestamp >= session_start)
        return query.order_by(self.SQLEvent.id)
