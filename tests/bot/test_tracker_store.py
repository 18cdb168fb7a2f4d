"""SessionScopedSQLTrackerStore: latest session only, read by index range."""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path

import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from storage.tracker_store import SessionScopedSQLTrackerStore

with warnings.catch_warnings():  # Rasa 3.6 always warns about slot auto-fill here
    warnings.simplefilter("ignore", UserWarning)
    DOMAIN = Domain.from_dict(
        {"slots": {"name": {"type": "text", "mappings": [{"type": "custom"}]}}}
    )


def store_at(path: Path) -> SessionScopedSQLTrackerStore:
    store = SessionScopedSQLTrackerStore(domain=DOMAIN, host=f"sqlite:///{path}")
    with store.engine.begin() as conn:  # what the chat server's migration 0003 adds
        conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_events_sender_type_timestamp "
                             "ON events (sender_id, type_name, timestamp)"))
        conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_events_sender_timestamp "
                             "ON events (sender_id, timestamp)"))
    return store


def session(start: float, texts: list[str], name: str) -> list:
    events = [ActionExecuted("action_session_start", timestamp=start),
              SessionStarted(timestamp=start + 0.1), SlotSet("name", name, timestamp=start + 0.2)]
    for i, text in enumerate(texts):
        events.append(UserUttered(text, timestamp=start + 1 + i))
    return events


def test_loads_only_the_latest_session_with_carried_over_slots(tmp_path: Path) -> None:
    store = store_at(tmp_path / "t.db")
    for s in range(30):  # as Rasa does: load the tracker, add a turn's events, save
        tracker = asyncio.run(store.retrieve("loyal")) or DialogueStateTracker.from_events(
            "loyal", [], slots=DOMAIN.slots
        )
        for event in session(1000.0 * s, [f"s{s} m{i}" for i in range(10)], "Priya"):
            tracker.update(event)
        asyncio.run(store.save(tracker))

    loaded = asyncio.run(store.retrieve("loyal"))
    texts = [e.text for e in loaded.events if isinstance(e, UserUttered)]
    assert texts == [f"s29 m{i}" for i in range(10)]
    assert loaded.get_slot("name") == "Priya"
    full = asyncio.run(store.retrieve_full_tracker("loyal"))
    assert len([e for e in full.events if isinstance(e, UserUttered)]) == 300

    # Saving again appends only the new event (the count covers the latest session only).
    loaded.update(UserUttered("one more", timestamp=30_000.0))
    asyncio.run(store.save(loaded))
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*) FROM events WHERE sender_id='loyal'")).scalar()
    assert rows == 30 * 13 + 1


def test_the_session_query_is_an_index_range(tmp_path: Path) -> None:
    store = store_at(tmp_path / "t.db")
    tracker = DialogueStateTracker.from_events("loyal", session(0.0, ["hi"], "Priya"), slots=DOMAIN.slots)
    asyncio.run(store.save(tracker))
    with store.session_scope() as db:
        query = store._event_query(db, "loyal", fetch_events_from_all_sessions=False)
        sql = str(query.statement.compile(store.engine, compile_kwargs={"literal_binds": True}))
    with store.engine.connect() as conn:
        plan = " ".join(r[-1] for r in conn.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))
    # A range on (sender_id, timestamp): only the latest session's rows are read.
    assert "USING INDEX ix_events_sender_timestamp (sender_id=? AND timestamp>?)" in plan, plan
