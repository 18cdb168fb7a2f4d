"""A SQL tracker store whose per-turn cost does not grow with history.

**Across sessions.** Rasa 3.6's ``SQLTrackerStore`` finds the latest session
with one query that ORs a "timestamp >= (latest session start)" subquery with
"no session start", which the database can only evaluate by reading *every*
event the visitor ever had — on every load and again on every save. Here the
session start is looked up first (one index probe on ``(sender_id,
type_name, timestamp)``), then only that session's events are read.

**Within a session.** Even one session can grow long (a loyal visitor
chatting for an hour). Every turn Rasa deserialises the whole session,
replays it, featurizes it for the rule policy and ships it to the action
server for every custom action: measured 855 ms per reply after 300 messages
against 52 ms for a new visitor. So a turn loads a bounded *window*:

- the session's ``session_started`` event (and the latest restart or
  slot reset, whose meaning would otherwise be lost);
- a snapshot of the state from before the window: the latest event setting
  each slot, the latest ``active_loop`` event and the latest pause/resume —
  the real stored rows, in their original order;
- the last ``window_turns`` user turns, complete.

The policies look back at most ``max_history`` (4) turns and rules a few
more, so what they predict is unchanged; slots, forms and the pause state
are exact. Saving appends only the events added after the load (the tracker
remembers how many it was loaded with), so nothing stored is lost or
duplicated. ``retrieve_full_tracker`` (Rasa's HTTP API, ``rasa export``)
still returns everything. The indexes are created by the chat server's
migrations 0003 and 0010.

**Outages.** A load or save that fails because the database is away raises
:class:`~storage.availability.TrackerStoreUnavailable` (logged once per
outage, no traceback) instead of being turned by Rasa into "a new visitor"
or "saved in memory": see storage/availability.py. Pooled connections are
checked before use, so the first turn after the database restarts works.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker

from storage.availability import OUTAGE, TrackerStoreUnavailable, describe, is_unavailable

# Set on trackers this store loads: how many of their events are stored.
LOADED_EVENTS_ATTR = "_rapport_stored_events"
# Events whose latest occurrence before the window still shapes the state.
BOUNDARY_TYPES = ("restart", "reset_slots")
STATE_TYPES = ("active_loop", "pause", "resume")
DEFAULT_WINDOW_TURNS = 10


class SessionScopedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` that loads the latest session's last turns, by index range."""

    def __init__(self, *args: Any, window_turns: int = DEFAULT_WINDOW_TURNS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if int(window_turns) < 5:  # rules and policies look back up to ~5 turns
            raise ValueError("tracker_store window_turns must be at least 5")
        self.window_turns = int(window_turns)
        # A connection broken by a database restart is replaced on checkout
        # instead of failing the first turn after recovery (SQLAlchemy 1.4).
        self.engine.pool._pre_ping = True

    @contextlib.contextmanager
    def _outage_aware(self) -> Iterator[None]:
        """Database-away errors become TrackerStoreUnavailable; success ends an outage."""
        try:
            yield
        except TrackerStoreUnavailable:
            raise
        except Exception as error:
            if not is_unavailable(error):
                raise
            OUTAGE.failed(error)
            raise TrackerStoreUnavailable(describe(error)) from error
        OUTAGE.succeeded()

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        with self._outage_aware():
            return await super().retrieve(sender_id)

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        with self._outage_aware():
            return await super().retrieve_full_tracker(sender_id)

    def _session_start(self, session: Any, sender_id: str) -> float | None:
        return (
            session.query(sa.func.max(self.SQLEvent.timestamp))
            .filter(
                self.SQLEvent.sender_id == sender_id,
                self.SQLEvent.type_name == SessionStarted.type_name,
            )
            .scalar()
        )

    def _event_query(
        self, session: Any, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Any:
        query = session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == sender_id)
        if not fetch_events_from_all_sessions:
            session_start = self._session_start(session, sender_id)
            if session_start is not None:
                query = query.filter(self.SQLEvent.timestamp >= session_start)
        return query.order_by(self.SQLEvent.id)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        if fetch_events_from_all_sessions:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            rows = self._windowed_rows(session, sender_id)
            if not rows or not self.domain:
                return None
            events = [json.loads(row.data) for row in rows]
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        setattr(tracker, LOADED_EVENTS_ATTR, len(tracker.events))
        return tracker

    def _windowed_rows(self, session: Any, sender_id: str) -> list[Any]:
        """The rows a turn needs: the whole session if short, else snapshot + window."""
        E = self.SQLEvent  # noqa: N806 (a table class, as in SQLAlchemy queries)
        session_start = self._session_start(session, sender_id)
        in_session = [E.sender_id == sender_id]
        if session_start is not None:
            in_session.append(E.timestamp >= session_start)
        # The window starts at the N-th last user message (index-only, newest first).
        start = (
            session.query(E.id, E.timestamp)
            .filter(*in_session, E.type_name == "user")
            .order_by(E.timestamp.desc(), E.id.desc())
            .offset(self.window_turns - 1)
            .limit(1)
            .first()
        )
        if start is None:  # a short session: all of it, as Rasa would
            return list(self._event_query(session, sender_id, False).all())
        window_start, window_ts = start

        # Each lookup below is a probe on (sender_id, type_name, ...) indexes:
        # its cost does not grow with the session's length.
        def latest(types: tuple[str, ...], *extra: Any) -> int | None:
            found = [
                session.query(E.id)
                .filter(
                    *in_session,
                    E.type_name == type_name,
                    E.timestamp <= window_ts,
                    E.id < window_start,
                    *extra,
                )
                .order_by(E.timestamp.desc(), E.id.desc())
                .limit(1)
                .scalar()
                for type_name in types  # one probe each: SQLite won't merge an IN
            ]
            return max((i for i in found if i is not None), default=None)

        keep: list[int | None] = [latest((SessionStarted.type_name,))]
        boundary = latest(BOUNDARY_TYPES)
        lower = [E.id > boundary] if boundary is not None else []
        keep.append(boundary)  # nothing before a restart/reset shapes the state
        keep.append(latest(("active_loop",), *lower))
        keep.append(latest(("pause", "resume"), *lower))
        # The latest value of each slot: an index-only scan of slot events.
        keep.extend(
            row[0]
            for row in session.query(sa.func.max(E.id))
            .filter(
                E.sender_id == sender_id,
                E.type_name == "slot",
                E.id < window_start,
                E.id > (boundary if boundary is not None else keep[0] or 0),
            )
            .group_by(E.action_name)
        )
        ids = sorted({i for i in keep if i is not None})
        snapshot = session.query(E).filter(E.id.in_(ids)).order_by(E.id).all() if ids else []
        window = session.query(E).filter(E.sender_id == sender_id, E.id >= window_start)
        return [*snapshot, *window.order_by(E.id).all()]

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        """Events added to the tracker since it was loaded (Rasa counts stored rows,
        which would be wrong for a windowed tracker)."""
        loaded = getattr(tracker, LOADED_EVENTS_ATTR, None)
        if loaded is None:  # a tracker this store did not load (a new visitor)
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, loaded, len(tracker.events))

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append the new events; the tracker then counts them as stored."""
        with self._outage_aware():
            await super().save(tracker)
        setattr(tracker, LOADED_EVENTS_ATTR, len(tracker.events))
