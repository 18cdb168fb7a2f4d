"""Engine and session factory. Created by the app at start-up, never at import."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

from chat_server.db.availability import is_unavailable
from chat_server.db.sqlite_driver import aiosqlite_dbapi

__all__ = ["create_engine", "create_sessionmaker", "is_unavailable"]

# session.info key: the types of the interaction events added in this transaction.
LOGGED_EVENT_TYPES = "rapport_logged_event_types"


def _create_private_file(path: Path) -> None:
    """Create an empty SQLite file readable by this user only (0600).

    The database holds conversations and profiles; SQLite would create it
    with the process umask (often world-readable). An empty file is a valid
    empty database, and SQLite gives its WAL and -shm files the same mode.
    An existing file keeps its mode (the operator may have shared it on purpose).
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def create_engine(database_url: str) -> AsyncEngine:
    """Create the async engine; for SQLite, make the directory and enable WAL."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            _create_private_file(Path(url.database))
        engine = create_async_engine(url, connect_args={"timeout": 30}, module=aiosqlite_dbapi())

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            # WAL lets readers (Rasa's tracker store, analytics) work while we write;
            # foreign keys are off by default in SQLite.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    # pre_ping: connections broken while the server was away are replaced, so a
    # restarted PostgreSQL needs no restart here. A short connect timeout turns
    # "unreachable" into an error in seconds instead of a minute-long hang.
    # UTC sessions: the analytics' days and hours (date_trunc) are UTC days
    # whatever the server's own time zone (docs/analytics.md). No JIT: every
    # query here is short, and PostgreSQL compiled the dashboard's larger ones
    # (estimated costs over jit_above_cost) for ~200 ms to run them in ~50.
    connect_args: dict[str, object] = {"timeout": 5}
    if url.get_driver_name() == "asyncpg":
        connect_args["server_settings"] = {"timezone": "UTC", "jit": "off"}
    return create_async_engine(url, pool_pre_ping=True, pool_timeout=10, connect_args=connect_args)


def create_sessionmaker(
    engine: AsyncEngine, on_events_committed: Callable[[list[str]], None] | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions for ``engine``; ``on_events_committed`` hears the types of the
    events each committed transaction logged (one entry per event: live
    dashboards, metrics), never rolled-back ones."""

    class _Session(Session):
        """A class of its own, so the commit hook is this factory's only."""

    if on_events_committed is not None:
        callback = on_events_committed

        @event.listens_for(_Session, "after_commit")
        def _committed(session: Session) -> None:
            # SQLAlchemy also calls this when a SAVEPOINT is released
            # (begin_nested): nothing is committed yet, and the outer
            # transaction may still roll back.
            if session.in_nested_transaction():
                return
            types = session.info.pop(LOGGED_EVENT_TYPES, None)
            if types:
                callback(types)

        @event.listens_for(_Session, "after_rollback")
        def _rolled_back(session: Session) -> None:
            session.info.pop(LOGGED_EVENT_TYPES, None)

    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=_Session)
