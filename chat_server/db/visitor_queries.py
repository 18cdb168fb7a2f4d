"""Visitor rows: look-up, lazy creation, and look-up by external id. Each function
takes an AsyncSession; callers own the transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db.models import InteractionEvent, Visitor, utcnow


async def get_visitor(session: AsyncSession, visitor_id: str) -> Visitor | None:
    return await session.get(Visitor, visitor_id)


async def create_visitor(
    session: AsyncSession, visitor_id: str, external_id: str | None = None
) -> Visitor:
    visitor = Visitor(id=visitor_id, profile={}, external_id=external_id)
    session.add(visitor)
    await session.flush()
    return visitor


async def first_event_at(session: AsyncSession, visitor_id: str) -> datetime | None:
    """When the visitor's first interaction event was logged, if any."""
    first: datetime | None = await session.scalar(
        select(func.min(InteractionEvent.created_at)).where(
            InteractionEvent.visitor_id == visitor_id
        )
    )
    return first


async def ensure_visitor(session: AsyncSession, visitor_id: str) -> tuple[Visitor, bool]:
    """The visitor's row, created on first use; True when it was created now.

    Visitor rows are lazy (docs/security.md, "Limits"): a session id is handed
    out without one, and the row appears with the first thing worth storing.
    It is dated from the visitor's first logged event (page views come
    before it), so "new" and "returning" keep meaning first seen. Two
    concurrent first uses settle on one row (the loser's savepoint rolls back).
    """
    visitor = await session.get(Visitor, visitor_id)
    if visitor is not None:
        return visitor, False
    first_seen = await first_event_at(session, visitor_id)
    now = utcnow()
    try:
        async with session.begin_nested():
            visitor = Visitor(
                id=visitor_id, profile={}, created_at=first_seen or now, last_seen_at=now
            )
            session.add(visitor)
    except IntegrityError:
        existing = await session.get(Visitor, visitor_id)
        if existing is None:
            raise
        return existing, False
    return visitor, True


async def visitor_by_external_id(session: AsyncSession, external_id: str) -> Visitor | None:
    return await session.scalar(select(Visitor).where(Visitor.external_id == external_id))
