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

Pass ``module=aiosqlite_dbapi()`` to ``create_async_engine``; tested in
tests/unit/test_sqlite_driver.py.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
)


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_closing",)

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
