"""Helpers to read what the chat server stored (tests look at the real tables)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.models import InteractionEvent, Message, Visitor


async def stored_messages(database_url: str, visitor_id: str | None = None) -> list[Any]:
    """Rows of the messages table (attribute access like a Message), oldest first."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            query = select(Message).order_by(Message.id)
            if visitor_id:
                query = query.where(Message.visitor_id == visitor_id)
            return list((await conn.execute(query)).all())
    finally:
        await engine.dispose()


async def stored_events(database_url: str, type_: str) -> list[Any]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(InteractionEvent).where(InteractionEvent.type == type_)
            )
            return list(rows.all())
    finally:
        await engine.dispose()


async def events_of(database_url: str, visitor_id: str) -> list[Any]:
    """The visitor's interaction events, oldest first."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(InteractionEvent)
                .where(InteractionEvent.visitor_id == visitor_id)
                .order_by(InteractionEvent.id)
            )
            return list(rows.all())
    finally:
        await engine.dispose()


def of_type(events: list[Any], type_: str) -> list[dict[str, Any]]:
    """The data of the events of one type."""
    return [e.data for e in events if e.type == type_]


async def profile_of(database_url: str, visitor_id: str) -> dict[str, Any]:
    """The stored visitor profile, with the name and email columns."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(select(Visitor).where(Visitor.id == visitor_id))).one()
            return {"name": row.name, "email": row.email, **(row.profile or {})}
    finally:
        await engine.dispose()
