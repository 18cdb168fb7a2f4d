"""Is the database there right now? The classifier, and one log line per outage.

An outage shows itself in many shapes, depending on the driver and on what
the server was doing: a refused connection, "the database system is shutting
down" (PostgreSQL stopping, SQLSTATE 57P03), "terminating connection due to
administrator command" (57P01, a fast shutdown or a failover), "too many
connections" (53300), a read-only transaction (25006: a promoted replica not
yet writable, or the old primary after a failover), a connection reset in
the middle of a query, SQLite's "database is locked" beyond its busy timeout.
All of them mean the same thing to a caller: nothing was wrong with the
request, try again shortly. :func:`is_unavailable` recognises them by
SQLSTATE (asyncpg, psycopg 2 and 3 all carry it) and by exception class,
through SQLAlchemy's wrapping and the exception chain.

:class:`Availability` turns thousands of failing requests into one log line
when the database goes away and one when it is back, without tracebacks: an
outage is an expected condition, not a bug.
"""

from __future__ import annotations

import logging
import sqlite3
import time

from sqlalchemy import exc

log = logging.getLogger("chat_server.database")

# SQLSTATEs meaning "not available now, retry" (PostgreSQL appendix A).
UNAVAILABLE_SQLSTATES = frozenset(
    {
        "57P01",  # admin_shutdown: terminating connection due to administrator command
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now: the database system is shutting down / starting up
        "53300",  # too_many_connections
        "53000",  # insufficient_resources
        "25006",  # read_only_sql_transaction: a standby, or a primary being demoted
        "58030",  # io_error
    }
)
# Whole SQLSTATE classes: 08 connection exception.
UNAVAILABLE_CLASSES = ("08",)
# Driver messages for a connection lost mid-query (no SQLSTATE: nothing came back).
LOST_CONNECTION_TEXTS = (
    "connection is closed",
    "connection was closed",
    "connection reset",
    "server closed the connection",
    "terminating connection",
    "the database system is",
    "database is locked",  # SQLite, after its busy timeout
    "could not connect",
    "connection refused",
    "too many connections",
    "remaining connection slots are reserved",
    "timeout expired",
)


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a driver error (asyncpg ``sqlstate``, psycopg2 ``pgcode``)."""
    for attribute in ("sqlstate", "pgcode"):
        code = getattr(error, attribute, None)
        if isinstance(code, str) and len(code) == 5:
            return code
    return None


def _chain(error: BaseException) -> list[BaseException]:
    """``error``, what SQLAlchemy wrapped and what caused it, without cycles."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo and len(seen) < 10:
        current = todo.pop(0)
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return seen


def _one_is_unavailable(error: BaseException) -> bool:
    if getattr(error, "database_unavailable", False) is True:
        return True  # seen by someone else, e.g. Rasa's tracker store
    code = sqlstate(error)
    if code is not None:
        return code in UNAVAILABLE_SQLSTATES or code.startswith(UNAVAILABLE_CLASSES)
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, (OSError, TimeoutError, exc.TimeoutError, ConnectionError)):
        return True
    if isinstance(error, sqlite3.OperationalError):
        return "locked" in str(error) or "unable to open" in str(error)
    if isinstance(error, (exc.OperationalError, exc.InterfaceError)):
        return True
    text = str(error).lower()
    return type(error).__module__.startswith(("asyncpg", "psycopg")) and any(
        t in text for t in LOST_CONNECTION_TEXTS
    )


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot be used right now (retry later)."""
    chain = _chain(error)
    # A definite SQLSTATE anywhere decides (a constraint violation is a bug
    # to report even if SQLAlchemy wrapped it as an OperationalError).
    for link in chain:
        code = sqlstate(link)
        if code is not None:
            return code in UNAVAILABLE_SQLSTATES or code.startswith(UNAVAILABLE_CLASSES)
    return any(_one_is_unavailable(link) for link in chain)


def describe(error: BaseException) -> str:
    """A one-line description of an outage error, for the log (no traceback)."""
    for link in _chain(error):
        code = sqlstate(link)
        if code is not None:
            first_line = str(link).strip().splitlines()[0] if str(link).strip() else ""
            return f"{type(link).__name__} {code}: {first_line}"[:300]
    # The driver's own error (SQLAlchemy's wrapper adds a "background" link).
    links = _chain(error)
    inner = next(
        (e for e in links if str(e).strip() and not type(e).__module__.startswith("sqlalchemy")),
        links[0],
    )
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
    return f"{type(inner).__name__}: {text}"[:300]


class Availability:
    """Whether ``subject`` is thought to be away; logs each change once."""

    def __init__(self, subject: str = "database") -> None:
        self.subject = subject
        self.down_since: float | None = None
        self.failures = 0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, error: BaseException, where: str) -> None:
        """An operation failed because ``subject`` is away (see is_unavailable)."""
        if self.subject == "database" and any(
            getattr(link, "database_unavailable", False) is True for link in _chain(error)
        ):
            return  # another part's outage (Rasa's tracker store): it logs its own
        self.failures += 1
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.warning(
                "%s unavailable (%s): %s; retrying until it is back",
                self.subject,
                where,
                describe(error),
            )
        else:
            log.debug("%s still unavailable (%s): %s", self.subject, where, describe(error))

    def succeeded(self) -> bool:
        """An operation worked; True (and one log line) if that ends an outage."""
        if self.down_since is None:
            return False
        seconds = time.monotonic() - self.down_since
        log.warning(
            "%s available again after %.1f s (%d failed operations)",
            self.subject,
            seconds,
            self.failures,
        )
        self.down_since, self.failures = None, 0
        return True


# One per process: a process has one log, and "the database is away" is a
# fact about the process's view of it, whichever request noticed first.
AVAILABILITY = Availability()
# Rasa's tracker store (the same database in every deployment, reached by
# Rasa): the chat server hears of it as HTTP 503 from Rasa (rasa_client.py).
BOT_STORAGE = Availability("the bot's tracker store")


def report_failure(error: BaseException, where: str, logger: logging.Logger, message: str) -> None:
    """For a background task's ``except Exception``: an outage is one quiet line
    (:data:`AVAILABILITY`), anything else is a bug logged with its traceback."""
    if is_unavailable(error):
        AVAILABILITY.failed(error, where)
    else:
        logger.exception(message)
