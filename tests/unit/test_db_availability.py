"""Which errors mean "the database is not there right now", and the outage log.

The errors are the drivers' own classes (asyncpg carries each SQLSTATE on its
class), wrapped the way SQLAlchemy wraps them; the real server's answers are
checked in tests/integration/test_database_outage.py.
"""

from __future__ import annotations

import logging
import sqlite3

import asyncpg
import pytest
from sqlalchemy import exc

from chat_server.db.availability import Availability, describe
from chat_server.db.engine import is_unavailable
from chat_server.rasa_client import BotStorageUnavailable, RasaUnavailable


def wrapped(error: BaseException) -> exc.DBAPIError:
    """As SQLAlchemy's asyncpg dialect raises it: a generic DBAPIError around the
    driver's error (neither OperationalError nor connection_invalidated)."""
    outer = exc.DBAPIError("SELECT 1", {}, error)
    outer.__cause__ = error
    return outer


OUTAGES = [
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.CrashShutdownError("crash shutdown"),
    asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
    asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.exceptions.ReadOnlySQLTransactionError(
        "cannot execute INSERT in a read-only transaction"
    ),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle"),
    asyncpg.exceptions.ConnectionFailureError("connection failure"),
    asyncpg.exceptions.ClientCannotConnectError("cannot connect"),
    ConnectionRefusedError(111, "Connection refused"),
    ConnectionResetError(104, "Connection reset by peer"),
    sqlite3.OperationalError("database is locked"),
]
BUGS = [
    asyncpg.exceptions.UniqueViolationError("duplicate key value"),
    asyncpg.exceptions.DivisionByZeroError("division by zero"),
    asyncpg.exceptions.UndefinedTableError('relation "x" does not exist'),
    ValueError("a bug"),
    KeyError("a bug"),
]


@pytest.mark.parametrize("error", OUTAGES, ids=lambda e: type(e).__name__)
def test_outages_are_unavailable_raw_and_wrapped(error: BaseException) -> None:
    assert is_unavailable(error)
    assert is_unavailable(wrapped(error))


@pytest.mark.parametrize("error", BUGS, ids=lambda e: type(e).__name__)
def test_bugs_are_not(error: BaseException) -> None:
    assert not is_unavailable(error)
    assert not is_unavailable(wrapped(error))


def test_sqlstate_names_the_outage_in_the_log() -> None:
    shutting_down = asyncpg.exceptions.CannotConnectNowError("the database system is shutting down")
    error = wrapped(shutting_down)
    assert describe(error) == "CannotConnectNowError 57P03: the database system is shutting down"


def test_rasa_storage_outage_is_unavailable_but_rasa_down_is_not() -> None:
    # Rasa's tracker store away: keep the message for a retry (not a handoff).
    assert is_unavailable(BotStorageUnavailable("tracker store unavailable"))
    assert not is_unavailable(RasaUnavailable("Rasa answered HTTP 500"))


def test_one_line_per_outage_and_per_recovery(caplog: pytest.LogCaptureFixture) -> None:
    availability = Availability()
    caplog.set_level(logging.INFO, logger="chat_server.database")
    error = wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    for where in ("/ user_uttered", "GET /api/conversations", "tracker outbox"):
        availability.failed(error, where)
    assert availability.down
    assert availability.succeeded() is True
    assert availability.succeeded() is False  # nothing to recover from any more
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("database unavailable (/ user_uttered): AdminShutdownError 57P01")
    assert lines[1].startswith("database available again after ")
    assert "3 failed operations" in lines[1]
    assert not any(r.exc_info for r in caplog.records)
