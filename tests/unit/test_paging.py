"""Keyset pagination (chat_server/db/paging.py): cursors, pages, and the order they follow."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from chat_server.db import paging
from chat_server.db.models import Conversation
from chat_server.db.paging import BadCursor, Ordering

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BY_TIME = Ordering("things", "time", True)
BY_NAME = Ordering("names", "text", False)


def test_a_cursor_round_trips_its_key_and_tiebreak() -> None:
    when = T0 + timedelta(microseconds=123457)
    assert BY_TIME.decode(BY_TIME.encode(when, 42)) == (when, 42)
    assert BY_NAME.decode(BY_NAME.encode("Zoë", 7)) == ("Zoë", 7)
    # SQLite hands back naive times (stored in UTC): the same instant.
    assert BY_TIME.decode(BY_TIME.encode(when.replace(tzinfo=None), 1)) == (when, 1)


def test_a_cursor_is_opaque_url_safe_text() -> None:
    cursor = BY_TIME.encode(T0, 2**40)
    assert cursor.replace("-", "").replace("_", "").isalnum()
    assert "=" not in cursor


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64 !",
        "x" * 401,
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(json.dumps(["things", "yesterday", 1]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps(["things", T0.isoformat(), "1"]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps(["things", T0.isoformat(), True]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps(["things", T0.isoformat(), 2**70]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps(["things", 5, 1]).encode()).decode(),
        base64.urlsafe_b64encode(b"[" * 5000).decode()[:400],
    ],
)
def test_a_malformed_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(BadCursor):
        BY_TIME.decode(cursor)


def test_a_cursor_of_another_list_is_refused() -> None:
    with pytest.raises(BadCursor, match="another list"):
        BY_TIME.decode(Ordering("other", "time", True).encode(T0, 1))
    resolved = paging.CONVERSATION_VIEWS["resolved"].encode(T0, 1)
    with pytest.raises(BadCursor):
        paging.CONVERSATION_VIEWS["open"].decode(resolved)


def test_page_gives_a_cursor_only_when_more_rows_follow() -> None:
    rows = [(T0 - timedelta(seconds=i), i) for i in range(5)]
    shown, cursor = BY_TIME.page(rows, 4, lambda r: r)
    assert shown == rows[:4] and cursor is not None
    assert BY_TIME.decode(cursor) == rows[3]
    assert BY_TIME.page(rows[:4], 4, lambda r: r) == (rows[:4], None)
    assert BY_TIME.page([], 4, lambda r: r) == ([], None)


def test_in_memory_pages_reach_every_row_once_even_with_equal_keys() -> None:
    rng = random.Random(7)  # noqa: S311 (test data)
    # Many rows share a time: the tie-break keeps them apart.
    rows = [(T0 + timedelta(seconds=rng.randrange(10)), f"v{i:03d}") for i in range(57)]
    ordering = Ordering("live", "time", False, tiebreak_kind="text")
    seen: list[tuple[datetime, str]] = []
    cursor = None
    while True:
        page, cursor = ordering.in_memory(rows, lambda r: r, 10, cursor)
        seen += page
        if cursor is None:
            break
    assert seen == sorted(rows)


def test_rows_added_behind_the_cursor_come_later_and_ahead_never_repeat() -> None:
    """The property that fixes "stops short": the next page starts right after
    the last row shown, in the list's order, whatever moved meanwhile."""
    rows = {i: T0 + timedelta(minutes=i) for i in range(30)}  # id -> last activity
    key = lambda i: (rows[i], i)  # noqa: E731
    first, cursor = BY_TIME.in_memory(list(rows), key, 10, None)
    assert first == list(range(29, 19, -1))
    # Old conversations (low ids) get new messages after the first page...
    for i in (0, 1, 2, 25):
        rows[i] = T0 + timedelta(hours=1, minutes=i)
    rest: list[int] = []
    while cursor is not None:
        page, cursor = BY_TIME.in_memory(list(rows), key, 10, cursor)
        rest += page
    # ...they moved ahead of the cursor: announced live, not paged again.
    assert rest == list(range(19, 2, -1))
    assert not set(rest) & set(first)


def test_the_sql_keyset_condition_follows_the_direction() -> None:
    ordering = paging.CONVERSATION_VIEWS["open"]
    query = ordering.apply(select(Conversation.id), 50, ordering.encode(T0, 9))
    # SQLAlchemy's dialect constructors carry no annotations.
    dialects = (sqlite.dialect(), postgresql.dialect())  # type: ignore[no-untyped-call]
    for dialect in dialects:
        sql = str(query.compile(dialect=dialect)).replace("\n", " ")
        assert "conversations.updated_at <" in sql
        assert "conversations.id <" in sql
        assert "ORDER BY conversations.updated_at DESC, conversations.id DESC" in sql
    queue = paging.CONVERSATION_VIEWS["queue"]
    sql = str(queue.apply(select(Conversation.id), 50, queue.encode(T0, 9)).compile())
    assert "coalesce(conversations.queued_at, conversations.created_at) >" in sql
    assert "conversations.id >" in sql and " ASC" in sql


def test_each_view_key_matches_its_sql_order() -> None:
    c = Conversation(
        id=5,
        created_at=T0,
        updated_at=T0 + timedelta(hours=2),
        queued_at=None,
        resolved_at=T0 + timedelta(hours=1),
    )
    assert paging.conversation_key("queue", c) == (T0, 5)  # never queued: its creation
    assert paging.conversation_key("resolved", c) == (T0 + timedelta(hours=1), 5)
    for view in ("mine", "open", "bot"):
        assert paging.conversation_key(view, c) == (T0 + timedelta(hours=2), 5)
