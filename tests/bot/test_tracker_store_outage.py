"""The tracker store during a real PostgreSQL outage: no tracker lost, no new session.

The outage is real and harms nobody else: the store connects as a role of
its own on the shared server (127.0.0.1:5432), and the test takes that role's
connections away (``CONNECTION LIMIT 0`` + ``pg_terminate_backend``), which
is what PostgreSQL answers when a server is out of connections
("too many connections for role", SQLSTATE 53300), then gives them back.
Rasa wraps every tracker store in ``FailSafeTrackerStore`` exactly as here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
import uuid
import warnings
from collections.abc import Iterator

import psycopg2
import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from connectors.rapport_rest import replies_to
from storage.availability import TrackerStoreUnavailable, is_unavailable, strict_failsafe
from storage.tracker_store import SessionScopedSQLTrackerStore

PG = os.environ.get("RAPPORT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    DOMAIN = Domain.from_dict(
        {"slots": {"name": {"type": "text", "mappings": [{"type": "custom"}]}}}
    )


def admin(sql: str) -> None:
    conn = psycopg2.connect(PG)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
    finally:
        conn.close()


@pytest.fixture
def database() -> Iterator[tuple[str, str]]:
    """A database owned by a role of its own: (role, SQLAlchemy URL as that role)."""
    name = f"rapport_bot_{uuid.uuid4().hex[:10]}"
    admin(f'CREATE ROLE "{name}" LOGIN')
    admin(f'CREATE DATABASE "{name}" OWNER "{name}"')
    host = PG.split("@", 1)[1].rsplit("/", 1)[0]
    try:
        yield name, f"postgresql://{name}@{host}/{name}"
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin(f'DROP ROLE IF EXISTS "{name}"')


def cut(role: str) -> None:
    """No connection for ``role`` any more: the existing ones end, new ones are refused."""
    admin(f'ALTER ROLE "{role}" CONNECTION LIMIT 0')
    # The test's own role name, not input.
    admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'")  # noqa: S608


def restore(role: str) -> None:
    admin(f'ALTER ROLE "{role}" CONNECTION LIMIT -1')


def conversation_start() -> list:
    return [
        ActionExecuted("action_session_start", timestamp=1.0),
        SessionStarted(timestamp=1.1),
        SlotSet("name", "Priya", timestamp=1.2),
        ActionExecuted("action_listen", timestamp=1.3),
        UserUttered("hi", timestamp=2.0, metadata={"message_id": 1}),
        BotUttered("Hello Priya!", timestamp=2.1),
    ]


def test_an_outage_neither_starts_a_new_session_nor_keeps_a_tracker_in_memory(
    database: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    role, url = database
    store = FailSafeTrackerStore(SessionScopedSQLTrackerStore(domain=DOMAIN, host=url))
    strict_failsafe(store)  # what the rapport channel does to Rasa's wrapper
    tracker = DialogueStateTracker.from_events("v1", conversation_start(), slots=DOMAIN.slots)
    asyncio.run(store.save(tracker))
    caplog.set_level(logging.DEBUG, logger="storage.tracker_store")

    cut(role)
    try:
        # Loading: an error, not "no tracker" (which makes Rasa start a new session).
        with pytest.raises(TrackerStoreUnavailable):
            asyncio.run(store.retrieve("v1"))
        # Saving: an error, not a copy in memory that the next load ignores.
        loaded = DialogueStateTracker.from_events("v1", conversation_start(), slots=DOMAIN.slots)
        loaded.update(UserUttered("during the outage", timestamp=3.0, metadata={"message_id": 2}))
        with pytest.raises(TrackerStoreUnavailable):
            asyncio.run(store.save(loaded))
        with pytest.raises(TrackerStoreUnavailable):
            asyncio.run(store.retrieve("v1"))
    finally:
        restore(role)

    # After recovery the turn is run again: same session, the message once.
    again = asyncio.run(store.retrieve("v1"))
    assert again is not None
    again.update(UserUttered("during the outage", timestamp=3.0, metadata={"message_id": 2}))
    again.update(BotUttered("Still here.", timestamp=3.1))
    asyncio.run(store.save(again))
    final = asyncio.run(store.retrieve("v1"))
    assert [e.text for e in final.events if isinstance(e, UserUttered)] == [
        "hi",
        "during the outage",
    ]
    assert sum(isinstance(e, SessionStarted) for e in final.events) == 1
    assert final.get_slot("name") == "Priya"
    assert not isinstance(store.fallback_tracker_store, type(None))
    assert asyncio.run(store.fallback_tracker_store.retrieve("v1")) is None

    records = [r for r in caplog.records if r.name == "storage.tracker_store"]
    warnings_ = [r.getMessage() for r in records if r.levelno >= logging.WARNING]
    assert len(warnings_) == 2, warnings_
    assert warnings_[0].startswith("tracker store unavailable: ")
    assert "53300" in warnings_[0] or "too many connections" in warnings_[0]
    assert warnings_[1].startswith("tracker store available again after ")
    assert not [r for r in caplog.records if r.exc_info], "no traceback for an outage"


def test_replies_of_a_message_already_in_the_tracker_are_found_by_its_id() -> None:
    tracker = DialogueStateTracker.from_events("v1", conversation_start(), slots=DOMAIN.slots)
    tracker.update(UserUttered("more", timestamp=4.0, metadata={"message_id": 7}))
    tracker.update(BotUttered("One", timestamp=4.1))
    tracker.update(ActionExecuted("action_listen", timestamp=4.2))
    tracker.update(BotUttered("Two", timestamp=4.3))
    assert [e.text for e in replies_to(tracker, 7)] == ["One", "Two"]
    assert [e.text for e in replies_to(tracker, 1)] == ["Hello Priya!"]
    assert replies_to(tracker, 8) is None
    assert replies_to(tracker, None) is None


def server_error(role_url: str, statements: list, terminate: bool = False) -> BaseException:
    """The real error the server answers ``statements`` with, as SQLAlchemy 1.4 raises it
    (``terminate``: the session is ended by an administrator in the middle of the last)."""
    engine = sa.create_engine(role_url)
    try:
        with engine.connect() as conn:
            for statement in statements[:-1]:
                conn.execute(sa.text(statement))
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
            if terminate:
                admin(f"SELECT pg_terminate_backend({pid})")
                time.sleep(0.2)
            conn.execute(sa.text(statements[-1]))
    except Exception as error:
        return error
    finally:
        engine.dispose()
    raise AssertionError("no error")


def test_real_server_errors_meaning_the_database_is_away(database: tuple[str, str]) -> None:
    _, url = database
    read_only = server_error(url, ["SET TRANSACTION READ ONLY", "CREATE TABLE t (i int)"])
    assert "25006" in str(getattr(read_only, "orig", None) and read_only.orig.pgcode)
    assert is_unavailable(read_only)
    terminated = server_error(url, ["SELECT 1"], terminate=True)
    assert is_unavailable(terminated), terminated
    # Bugs are not outages.
    assert not is_unavailable(server_error(url, ["SELECT 1/0"]))
    assert not is_unavailable(server_error(url, ["SELECT * FROM no_such_table"]))
    assert not is_unavailable(ValueError("a bug"))
    # SQLite's busy timeout ran out; a connection reset by the peer.
    assert is_unavailable(
        sa.exc.OperationalError("x", {}, sqlite3.OperationalError("database is locked"))
    )
    assert is_unavailable(ConnectionResetError("reset by peer"))


def test_every_tracker_store_the_agent_wraps_is_strict() -> None:
    from rasa.core.agent import Agent
    from rasa.core.tracker_store import InMemoryTrackerStore

    from storage.availability import install_strict_failsafe

    install_strict_failsafe()
    install_strict_failsafe()  # idempotent
    store = Agent._create_tracker_store(InMemoryTrackerStore(DOMAIN), DOMAIN)
    with pytest.raises(ZeroDivisionError):  # not swallowed and logged
        store.on_tracker_store_error(ZeroDivisionError("raised"))
