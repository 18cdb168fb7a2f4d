"""Rows stored straight into a test database: a console's worth of history
(120 conversations, follow-ups, deliveries) in a second instead of minutes of
chatting. Tests then drive the real server and browser over them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from chat_server.db.models import Conversation, Message, Visitor, utcnow

T = TypeVar("T")


async def insert(database_url: str, rows: list[Any]) -> list[int]:
    """Store ``rows`` in order (a visitor before its conversation); the ids of
    those that have one, in order."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn, AsyncSession(bind=conn) as session:
            for row in rows:
                session.add(row)
                if isinstance(row, Visitor):
                    await session.flush()
            await session.flush()
            ids = [None if isinstance(r, Visitor) else r.id for r in rows]
        return [i for i in ids if isinstance(i, int)]
    finally:
        await engine.dispose()


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine from synchronous code that may already have a loop
    (Playwright's sync API does): in a thread of its own."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def insert_now(database_url: str, rows: list[Any]) -> list[int]:
    """:func:`insert` for synchronous (browser) tests."""
    return run_sync(lambda: insert(database_url, rows))


def conversations(state: str, n: int, agent_id: int | None = None, prefix: str = "") -> list[Any]:
    """``n`` visitors with one conversation each, oldest first (ids follow age),
    spread over the last 40 minutes."""
    now = utcnow()
    rows: list[Any] = []
    for i in range(n):
        at = now - timedelta(minutes=40) + timedelta(seconds=10 * i)
        vid = f"{prefix}{state}-{i:03d}-{'x' * 8}"
        rows.append(Visitor(id=vid, profile={}, created_at=at, last_seen_at=at))
        rows.append(
            Conversation(
                visitor_id=vid,
                state=state,
                created_at=at,
                updated_at=at,
                queued_at=at if state in ("queued", "assigned", "resolved") else None,
                assigned_agent_id=agent_id,
                assigned_at=at if agent_id else None,
                resolved_at=at + timedelta(seconds=5) if state == "resolved" else None,
            )
        )
    return rows


def messages(conversation_id: int, visitor_id: str, lines: list[tuple[str, str]]) -> list[Any]:
    """Messages (direction, text) for one conversation, a few seconds apart."""
    start = utcnow() - timedelta(minutes=5)
    return [
        Message(
            conversation_id=conversation_id,
            visitor_id=visitor_id,
            direction=direction,
            text=text,
            created_at=start + timedelta(seconds=5 * i),
        )
        for i, (direction, text) in enumerate(lines)
    ]
