"""SQLAlchemy's aiosqlite adapter, without its hang on a twice-cancelled query.

When a task is cancelled in the middle of a query and cancelled again while
SQLAlchemy cleans its connection up (every event loop does that on shutdown:
aiohttp's, asyncio.run's, pytest's), SQLAlchemy closes the connection
gracefully in a shielded task and, being cancelled, also "force closes" it
with aiosqlite's ``stop()``. That ends aiosqlite's worker thread. The graceful
close then queues its own final ``stop()`` behind it, which no thread will
ever run, and awaits it: the task never finishes, and the loop's shutdown
waits for it for ever (a server that does not exit; a CI run hung at 99 %).

For aiosqlite a force close is no quicker than the graceful close already
under way: both only queue work behind the query the thread is running. So
while a graceful close is under way the force close is left out; when there
is none (a connection garbage-collected outside the loop), it still runs.

It also makes a statement one trip to aiosqlite's thread instead of four.
SQLAlchemy's adapter creates an aiosqlite cursor, executes, fetches and
closes it, each a round trip through aiosqlite's queue and back through the
event loop; a bot turn's ~17 statements made ~60 such trips, most of the
chat server's CPU per turn (bench/relay_overhead.py). ``_OneHopCursor`` runs
the four steps in the thread at once and hands back the rows, description,
row count and last row id.

Pass ``module=aiosqlite_dbapi()`` to ``create_async_engine``; tested in
tests/unit/test_sqlite_driver.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

# What one statement leaves: description, row count, last row id, rows.
_Outcome = tuple[Any, int, int | None, list[Any]]


def _run(connection: Any, sql: str, parameters: Any, many: bool) -> _Outcome:
    """In aiosqlite's thread: execute, fetch everything, close."""
    raw: sqlite3.Connection = connection._conn
    cursor = raw.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        elif parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        # After the fetch: an UPDATE ... RETURNING counts its rows as they are read.
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class _OneHopCursor:
    """What SQLAlchemy's adapter needs of an aiosqlite cursor, one trip per statement."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection  # an aiosqlite.Connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1
        self._rows: list[Any] = []

    async def __aenter__(self) -> _OneHopCursor:
        return self

    async def execute(self, sql: str, parameters: Any = None) -> _OneHopCursor:
        return await self._go(sql, parameters, many=False)

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> _OneHopCursor:
        return await self._go(sql, parameters, many=True)

    async def _go(self, sql: str, parameters: Any, many: bool) -> _OneHopCursor:
        outcome: _Outcome = await self._connection._execute(
            _run, self._connection, sql, parameters, many
        )
        self.description, self.rowcount, self.lastrowid, self._rows = outcome
        return self

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def close(self) -> None:
        self._rows = []


class _Cursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()
    _awaitable_cursor_close = False  # closing is local: no trip to the thread

    def _make_new_cursor(self, connection: Any) -> Any:
        return _OneHopCursor(connection)

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_closing",)
    _cursor_cls = _Cursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._closing = False

    async def _terminate_graceful_close(self) -> None:
        self._closing = True
        await super()._terminate_graceful_close()

    def _terminate_force_close(self) -> None:
        if not self._closing:
            super()._terminate_force_close()


class _Dbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        return _Connection(self, adapted._connection)


def aiosqlite_dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    """The DBAPI module for ``create_async_engine(..., module=...)``."""
    return _Dbapi(__import__("aiosqlite"), __import__("sqlite3"))
