"""Keyset pagination: every list pages with an opaque cursor in its own order.

A list is sorted by one key (a time, a name) and then by a unique tie-break
(an id), both ascending or both descending. A page ends with a cursor that
holds the last row's key and tie-break; the next page is the rows strictly
after it in that order. Unlike "ids below the last one seen", this stays right
when the sort key is not the id's order (a conversation's last activity): no
row is skipped and none comes twice, whatever is added before the cursor
meanwhile. A row whose key moves ahead of the cursor while a client pages (a
conversation that gets a new message) is not in the later pages; the live
event that announces the change brings it.

A cursor is ``base64url(json([list name, key, tie-break]))``: clients pass it
back unchanged. The list's name inside makes a cursor of another list (or of
another view of the same list) a clear error instead of a silently wrong page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import Select, and_, func, or_
from sqlalchemy.sql.elements import ColumnElement

from chat_server import errors
from chat_server.db.models import Agent, Conversation, Followup, WebhookDelivery

Row = TypeVar("Row")
KeyKind = Literal["time", "int", "text"]
# A cursor longer than this is not one of ours.
MAX_CURSOR_CHARS = 400


class BadCursor(errors.Invalid, ValueError):
    """The cursor is malformed or belongs to another list."""


@dataclass(frozen=True)
class Ordering:
    """One list's order: ``key`` then ``tiebreak``, both ascending or both descending.

    ``key`` and ``tiebreak`` are SQL expressions for queries (None for lists
    kept in memory); ``kind`` says how the key travels in a cursor.
    """

    name: str
    kind: KeyKind
    descending: bool
    tiebreak_kind: KeyKind = "int"
    key: Any = None
    tiebreak: Any = None

    # -- the cursor ----------------------------------------------------------

    def encode(self, key: Any, tiebreak: Any) -> str:
        raw = json.dumps([self.name, _dump(key, self.kind), _dump(tiebreak, self.tiebreak_kind)])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def decode(self, cursor: str) -> tuple[Any, Any]:
        """The (key, tie-break) in ``cursor``; BadCursor when it is not one of this list's."""
        if not cursor or len(cursor) > MAX_CURSOR_CHARS:
            raise BadCursor("the cursor is not one this list gave out")
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            name, key, tiebreak = json.loads(raw)
        except (binascii.Error, ValueError, TypeError, RecursionError):
            raise BadCursor("the cursor is not one this list gave out") from None
        if name != self.name:
            raise BadCursor(f"the cursor belongs to another list than {self.name!r}")
        return _load(key, self.kind), _load(tiebreak, self.tiebreak_kind)

    # -- a page of rows ------------------------------------------------------

    def page(
        self, rows: Sequence[Row], limit: int, key_of: Callable[[Row], tuple[Any, Any]]
    ) -> tuple[list[Row], str | None]:
        """The first ``limit`` of ``rows`` (fetched with ``limit + 1``) and the
        cursor of the next page, None at the end."""
        shown = list(rows[:limit])
        if len(rows) <= limit or not shown:
            return shown, None
        return shown, self.encode(*key_of(shown[-1]))

    def after(self, row_key: tuple[Any, Any], cursor_key: tuple[Any, Any]) -> bool:
        """Whether a row with ``row_key`` comes after the cursor in this order."""
        a, b = _comparable(row_key), _comparable(cursor_key)
        return a < b if self.descending else a > b

    def sort(self, rows: list[Row], key_of: Callable[[Row], tuple[Any, Any]]) -> list[Row]:
        return sorted(rows, key=lambda r: _comparable(key_of(r)), reverse=self.descending)

    def in_memory(
        self,
        rows: list[Row],
        key_of: Callable[[Row], tuple[Any, Any]],
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Row], str | None]:
        """A page of a list held in memory (sorted here), and the next cursor."""
        ordered = self.sort(rows, key_of)
        if cursor is not None:
            edge = self.decode(cursor)
            ordered = [r for r in ordered if self.after(key_of(r), edge)]
        return self.page(ordered, limit, key_of)

    # -- SQL -----------------------------------------------------------------

    def apply(self, query: Select[Any], limit: int, cursor: str | None) -> Select[Any]:
        """``query`` in this order, after ``cursor``, one row more than ``limit``
        (so :meth:`page` knows whether another page follows)."""
        if cursor is not None:
            query = query.where(self.where_after(*self.decode(cursor)))
        if self.descending:
            query = query.order_by(self.key.desc(), self.tiebreak.desc())
        else:
            query = query.order_by(self.key.asc(), self.tiebreak.asc())
        return query.limit(limit + 1)

    def where_after(self, key: Any, tiebreak: Any) -> ColumnElement[bool]:
        # Spelled out rather than a row-value comparison: SQLite and
        # PostgreSQL both plan it, and it reads the same for both directions.
        if self.descending:
            return or_(self.key < key, and_(self.key == key, self.tiebreak < tiebreak))
        return or_(self.key > key, and_(self.key == key, self.tiebreak > tiebreak))


def _as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _dump(value: Any, kind: KeyKind) -> Any:
    if kind == "time":
        if not isinstance(value, datetime):
            raise TypeError("a time key must be a datetime")
        return _as_utc(value).isoformat()
    if kind == "int":
        return int(value)
    return str(value)


def _load(value: Any, kind: KeyKind) -> Any:
    if kind == "time":
        if not isinstance(value, str):
            raise BadCursor("the cursor is not one this list gave out")
        try:
            return _as_utc(datetime.fromisoformat(value))
        except ValueError:
            raise BadCursor("the cursor is not one this list gave out") from None
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool) or not -(2**63) < value < 2**63:
            raise BadCursor("the cursor is not one this list gave out")
        return value
    if not isinstance(value, str):
        raise BadCursor("the cursor is not one this list gave out")
    return value


def _comparable(key: tuple[Any, Any]) -> tuple[Any, Any]:
    value, tiebreak = key
    return (_as_utc(value) if isinstance(value, datetime) else value, tiebreak)


# -- the lists and their orders (as the console shows them) -----------------------


# Waiting longest first: the queue is served in order.
_QUEUE = Ordering(
    "queue", "time", False,
    key=func.coalesce(Conversation.queued_at, Conversation.created_at), tiebreak=Conversation.id,
)  # fmt: skip
# Latest activity first (a new message moves a conversation to the top).
_ACTIVE = {
    view: Ordering(view, "time", True, key=Conversation.updated_at, tiebreak=Conversation.id)
    for view in ("mine", "open", "bot")
}
# Latest resolved first.
_RESOLVED = Ordering(
    "resolved", "time", True,
    key=func.coalesce(Conversation.resolved_at, Conversation.updated_at), tiebreak=Conversation.id,
)  # fmt: skip
CONVERSATION_VIEWS: dict[str, Ordering] = {"queue": _QUEUE, "resolved": _RESOLVED, **_ACTIVE}


def conversation_key(view: str, c: Conversation) -> tuple[Any, Any]:
    """A conversation's place in ``view`` (what the view's ordering sorts by)."""
    if view == "queue":
        return c.queued_at or c.created_at, c.id
    if view == "resolved":
        return c.resolved_at or c.updated_at, c.id
    return c.updated_at, c.id


# A visitor's conversations, newest first (the visitor panel's history).
VISITOR_HISTORY = Ordering(
    "visitor_history", "int", True, key=Conversation.id, tiebreak=Conversation.id
)
# Follow-ups, newest first (one list per status).
FOLLOWUPS = {
    status: Ordering(
        f"followups_{status}", "time", True, key=Followup.created_at, tiebreak=Followup.id
    )
    for status in ("open", "done")
}
# A webhook's deliveries, newest first.
DELIVERIES = Ordering(
    "deliveries", "int", True, key=WebhookDelivery.id, tiebreak=WebhookDelivery.id
)
# The agents directory, by name.
AGENTS = Ordering("agents", "text", False, key=Agent.display_name, tiebreak=Agent.id)
# Visitors on the site now (kept in memory), longest there first.
LIVE_VISITORS = Ordering("live_visitors", "time", False, tiebreak_kind="text")
