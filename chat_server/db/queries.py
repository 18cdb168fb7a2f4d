"""Query functions: each takes an AsyncSession; callers own the transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db.models import Conversation, InteractionEvent, Message, Visitor, utcnow


async def get_visitor(session: AsyncSession, visitor_id: str) -> Visitor | None:
    return await session.get(Visitor, visitor_id)


async def create_visitor(
    session: AsyncSession, visitor_id: str, external_id: str | None = None
) -> Visitor:
    visitor = Visitor(id=visitor_id, profile={}, external_id=external_id)
    session.add(visitor)
    await session.flush()
    return visitor


async def open_conversation(session: AsyncSession, visitor_id: str) -> Conversation:
    """The visitor's most recent conversation, or a new one if there is none."""
    conversation = await session.scalar(
        select(Conversation)
        .where(Conversation.visitor_id == visitor_id)
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    if conversation is None:
        conversation = Conversation(visitor_id=visitor_id, state="bot")
        session.add(conversation)
        await session.flush()
    return conversation


async def add_message(
    session: AsyncSession,
    conversation: Conversation,
    direction: str,
    text: str | None,
    payload: dict[str, Any] | None = None,
    page_url: str | None = None,
) -> Message:
    message = Message(
        conversation_id=conversation.id,
        visitor_id=conversation.visitor_id,
        direction=direction,
        text=text,
        payload=payload,
        page_url=page_url,
    )
    session.add(message)
    conversation.updated_at = utcnow()
    await session.flush()
    return message


async def recent_messages(
    session: AsyncSession, visitor_id: str, limit: int, before_id: int | None = None
) -> list[Message]:
    """The visitor's latest ``limit`` messages (older than ``before_id``), oldest first."""
    query = select(Message).where(Message.visitor_id == visitor_id)
    if before_id is not None:
        query = query.where(Message.id < before_id)
    rows = await session.scalars(query.order_by(Message.id.desc()).limit(limit))
    return list(reversed(rows.all()))


async def log_event(
    session: AsyncSession,
    type_: str,
    visitor_id: str | None,
    conversation_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        InteractionEvent(
            type=type_, visitor_id=visitor_id, conversation_id=conversation_id, data=data or {}
        )
    )


async def visitor_by_external_id(session: AsyncSession, external_id: str) -> Visitor | None:
    return await session.scalar(select(Visitor).where(Visitor.external_id == external_id))


async def move_visitor_data(session: AsyncSession, source_id: str, target_id: str) -> None:
    """Reassign every conversation, message and event of ``source_id`` to ``target_id``."""
    for model in (Conversation, Message, InteractionEvent):
        await session.execute(
            update(model).where(model.visitor_id == source_id).values(visitor_id=target_id)
        )
