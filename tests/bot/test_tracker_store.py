"""SessionScopedSQLTrackerStore: latest session only, read by index range."""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path

import sqlalchemy as sa
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    ConversationPaused,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
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
        conn.execute(
            sa.text(
                "CREATE INDEX IF NOT EXISTS ix_events_sender_type_timestamp "
                "ON events (sender_id, type_name, timestamp)"
            )
        )
        conn.execute(
            sa.text(
                "CREATE INDEX IF NOT EXISTS ix_events_sender_timestamp "
                "ON events (sender_id, timestamp)"
            )
        )
        # ... and migration 0010
        conn.execute(
            sa.text("CREATE INDEX IF NOT EXISTS ix_events_sender_id_id ON events (sender_id, id)")
        )
        conn.execute(
            sa.text(
                "CREATE INDEX IF NOT EXISTS ix_events_sender_type_action_id "
                "ON events (sender_id, type_name, action_name, id)"
            )
        )
    return store


def session(start: float, texts: list[str], name: str) -> list:
    events = [
        ActionExecuted("action_session_start", timestamp=start),
        SessionStarted(timestamp=start + 0.1),
        SlotSet("name", name, timestamp=start + 0.2),
    ]
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
    tracker = DialogueStateTracker.from_events(
        "loyal", session(0.0, ["hi"], "Priya"), slots=DOMAIN.slots
    )
    asyncio.run(store.save(tracker))
    with store.session_scope() as db:
        query = store._event_query(db, "loyal", fetch_events_from_all_sessions=False)
        sql = str(query.statement.compile(store.engine, compile_kwargs={"literal_binds": True}))
    with store.engine.connect() as conn:
        plan = " ".join(r[-1] for r in conn.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))
    # A range on (sender_id, timestamp): only the latest session's rows are read.
    assert "USING INDEX ix_events_sender_timestamp (sender_id=? AND timestamp>?)" in plan, plan


# --- the window: a long session loads a bounded tail plus a state snapshot ---


def long_session(turns: int) -> list:
    """A session whose slots change early, whose form and pause state are set
    before the last turns, and whose user turns each add four events."""
    events = [
        ActionExecuted("action_session_start", timestamp=0.0),
        SessionStarted(timestamp=0.1),
        SlotSet("name", "Priya", timestamp=0.2),
        ActionExecuted("action_listen", timestamp=0.3),
    ]
    t = 1.0
    for i in range(turns):
        events += [
            UserUttered(f"m{i}", timestamp=t),
            ActionExecuted("utter_x", timestamp=t + 0.1),
            BotUttered(f"r{i}", timestamp=t + 0.2),
            ActionExecuted("action_listen", timestamp=t + 0.3),
        ]
        if i == 3:
            events.append(SlotSet("name", "Priya Patel", timestamp=t + 0.4))
        if i == 5:
            events.append(ActiveLoop("order_status_form", timestamp=t + 0.5))
        if i == 6:
            events.append(ConversationPaused(timestamp=t + 0.6))
        t += 1.0
    return events


def save_new(store: SessionScopedSQLTrackerStore, sender: str, events: list) -> None:
    tracker = DialogueStateTracker.from_events(sender, events, slots=DOMAIN.slots)
    asyncio.run(store.save(tracker))


def row_count(store: SessionScopedSQLTrackerStore, sender: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT count(*) FROM events WHERE sender_id=:s"), {"s": sender}
        ).scalar()


def test_a_long_session_loads_the_last_turns_and_the_current_state(tmp_path: Path) -> None:
    store = store_at(tmp_path / "t.db")
    store.window_turns = 20
    save_new(store, "chatty", long_session(300))

    tracker = asyncio.run(store.retrieve("chatty"))
    texts = [e.text for e in tracker.events if isinstance(e, UserUttered)]
    assert texts == [f"m{i}" for i in range(280, 300)]
    assert len(tracker.events) < 100  # not the 1,204 stored
    # State from before the window is exact: latest slot value, form, pause.
    assert tracker.get_slot("name") == "Priya Patel"
    assert tracker.active_loop_name == "order_status_form"
    assert tracker.is_paused()
    assert isinstance(tracker.events[0], SessionStarted)


def test_saving_a_windowed_tracker_appends_only_the_new_events(tmp_path: Path) -> None:
    store = store_at(tmp_path / "t.db")
    store.window_turns = 20
    save_new(store, "chatty", long_session(100))
    stored = row_count(store, "chatty")

    for turn in range(3):  # as Rasa does each turn: load, add events, save
        tracker = asyncio.run(store.retrieve("chatty"))
        tracker.update(UserUttered(f"new {turn}", timestamp=1000.0 + turn))
        tracker.update(SlotSet("name", f"Name {turn}", timestamp=1000.5 + turn))
        asyncio.run(store.save(tracker))
        asyncio.run(store.save(tracker))  # a second save adds nothing
    assert row_count(store, "chatty") == stored + 6

    full = asyncio.run(store.retrieve_full_tracker("chatty"))
    texts = [e.text for e in full.events if isinstance(e, UserUttered)]
    assert texts == [f"m{i}" for i in range(100)] + ["new 0", "new 1", "new 2"]
    assert asyncio.run(store.retrieve("chatty")).get_slot("name") == "Name 2"


def test_a_restart_before_the_window_is_not_undone_by_the_snapshot(tmp_path: Path) -> None:
    store = store_at(tmp_path / "t.db")
    store.window_turns = 5
    events = long_session(10)
    events.append(Restarted(timestamp=20.0))
    t = 21.0
    for i in range(10):
        events += [
            UserUttered(f"after {i}", timestamp=t),
            ActionExecuted("action_listen", timestamp=t + 0.1),
        ]
        t += 1.0
    save_new(store, "restarted", events)

    tracker = asyncio.run(store.retrieve("restarted"))
    assert tracker.get_slot("name") is None  # reset by the restart
    assert tracker.active_loop_name is None
    assert not tracker.is_paused()
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == [
        f"after {i}" for i in range(5, 10)
    ]


def test_a_short_session_loads_whole_and_the_window_must_cover_the_policies(tmp_path: Path) -> None:
    store = store_at(tmp_path / "t.db")
    save_new(store, "new", long_session(3))
    tracker = asyncio.run(store.retrieve("new"))
    assert len(tracker.events) == len(long_session(3))
    import pytest

    with pytest.raises(ValueError, match="window_turns"):
        SessionScopedSQLTrackerStore(
            domain=DOMAIN, host=f"sqlite:///{tmp_path / 'x.db'}", window_turns=2
        )


def test_the_window_queries_are_index_scans(tmp_path: Path) -> None:
    store = store_at(tmp_path / "t.db")
    statements: list[str] = []

    @sa.event.listens_for(store.engine, "before_cursor_execute")
    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    store.window_turns = 5
    save_new(store, "chatty", long_session(50))
    statements.clear()
    asyncio.run(store.retrieve("chatty"))
    with store.engine.connect() as conn:
        for statement, parameters in statements:
            plan = " ".join(
                r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            )
            assert plan.startswith("SEARCH") and "SCAN" not in plan, (statement, plan)
