"""The tracker store's database away: recognised, reported once, never papered over.

Rasa 3.6 wraps every tracker store in ``FailSafeTrackerStore``: when a load
fails it answers "no tracker" (the conversation starts a *new session*
mid-conversation) and when a save fails it keeps the tracker in memory (lost
at the next load, or with the process). Both turn a short database outage
into a visitor forgotten. Here:

- :func:`is_unavailable` recognises the errors that mean "the database is
  not there right now" (SQLSTATE 57P01/57P02/57P03 shutting down, 53300 too
  many connections, 25006 read-only after a failover, class 08 connection
  errors, a connection lost mid-query, SQLite "database is locked"), through
  SQLAlchemy's wrapping (psycopg2 carries ``pgcode``);
- the store raises :class:`TrackerStoreUnavailable` for them, and
  :func:`strict_failsafe` makes Rasa's wrapper let errors through instead of
  falling back to memory: the turn fails as a whole, nothing is half-saved,
  and the chat server runs it again after recovery (idempotent by message id,
  connectors/rapport_rest.py);
- :class:`Outage` logs one line when the database goes away and one when it
  is back, without tracebacks.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from typing import Any

log = logging.getLogger("storage.tracker_store")

UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300", "53000", "25006", "58030"})
LOST_CONNECTION_TEXTS = (
    "server closed the connection",
    "connection already closed",
    "could not connect",
    "connection refused",
    "terminating connection",
    "the database system is",
    "connection reset",
    "database is locked",
    "ssl syscall error",
    "too many connections",
    "remaining connection slots are reserved",
    "timeout expired",
)


class TrackerStoreUnavailable(Exception):
    """The tracker store's database cannot be used right now: retry the turn later."""


def _sqlstate(error: BaseException) -> str | None:
    for attribute in ("pgcode", "sqlstate"):
        code = getattr(error, attribute, None)
        if isinstance(code, str) and len(code) == 5:
            return code
    return None


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[Any] = [error]
    while todo and len(seen) < 10:
        current = todo.pop(0)
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        todo += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return seen


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot be reached or written right now."""
    chain = _chain(error)
    for link in chain:
        if isinstance(link, TrackerStoreUnavailable):
            return True
        code = _sqlstate(link)
        if code is not None:
            return code in UNAVAILABLE_SQLSTATES or code.startswith("08")
    for link in chain:
        if getattr(link, "connection_invalidated", False) is True:
            return True
        if isinstance(link, (OSError, TimeoutError)):
            return True
        text = str(link).lower()
        if isinstance(link, sqlite3.OperationalError) and "locked" in text:
            return True
        if type(link).__module__.startswith(("psycopg", "sqlalchemy")) and any(
            t in text for t in LOST_CONNECTION_TEXTS
        ):
            return True
    return False


def describe(error: BaseException) -> str:
    """One line about the error, for the log."""
    for link in _chain(error):
        code = _sqlstate(link)
        if code is not None:
            lines = str(link).strip().splitlines() or [""]
            return f"{type(link).__name__} {code}: {lines[0]}"[:300]
    # The driver's own error (SQLAlchemy's wrapper adds a "background" link).
    links = _chain(error)
    inner = next(
        (e for e in links if str(e).strip() and not type(e).__module__.startswith("sqlalchemy")),
        links[0],
    )
    lines = str(inner).strip().splitlines() or [""]
    return f"{type(inner).__name__}: {lines[0]}"[:300]


class Outage:
    """Whether the tracker store's database is thought to be away; logs each change once."""

    def __init__(self) -> None:
        self.down_since: float | None = None
        self.failures = 0

    def failed(self, error: BaseException) -> None:
        self.failures += 1
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.warning(
                "tracker store unavailable: %s; turns are refused (HTTP 503) and "
                "retried by the chat server until it is back",
                describe(error),
            )
        else:
            log.debug("tracker store still unavailable: %s", describe(error))

    def succeeded(self) -> None:
        if self.down_since is None:
            return
        log.warning(
            "tracker store available again after %.1f s (%d failed operations)",
            time.monotonic() - self.down_since,
            self.failures,
        )
        self.down_since, self.failures = None, 0


OUTAGE = Outage()


def _raise(error: Exception) -> None:
    raise error


def strict_failsafe(tracker_store: Any) -> None:
    """Make Rasa's ``FailSafeTrackerStore`` raise instead of answering "no tracker"
    or saving to memory (Rasa 3.6.21: its error callback runs before either)."""
    if hasattr(tracker_store, "_on_tracker_store_error"):
        tracker_store._on_tracker_store_error = _raise


def install_strict_failsafe() -> None:
    """At start-up (launch_rasa.py): every tracker store Rasa's Agent wraps is strict,
    so its HTTP API (events appended by the chat server, trigger_intent) never falls
    back to memory either — not only the rapport channel's turns."""
    from rasa.core.agent import Agent

    stock = Agent.__dict__["_create_tracker_store"]
    if getattr(stock, "_rapport_strict", False):
        return

    def create(store: Any, domain: Any) -> Any:
        wrapped = stock.__func__(store, domain)
        strict_failsafe(wrapped)
        return wrapped

    create._rapport_strict = True  # type: ignore[attr-defined]
    Agent._create_tracker_store = staticmethod(create)  # type: ignore[method-assign]
