"""Conversations, the queue and agents' load: a visitor's current conversation
(opened on demand), the queue in order, and assigned conversations per agent.
Each function takes an AsyncSession; callers own the transaction.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db.event_queries import log_event
from chat_server.db.models import Agent, Conversation, as_utc, utcnow


async def latest_conversation(session: AsyncSession, visitor_id: str) -> Conversation | None:
    """The visitor's most recent conversation, whatever its state."""
    return await session.scalar(
        select(Conversation)
        .where(Conversation.visitor_id == visitor_id)
        .order_by(Conversation.id.desc())
        .limit(1)
    )


async def open_conversation(
    session: AsyncSession, visitor_id: str, idle_after: timedelta | None = None
) -> Conversation:
    """The conversation the visitor's next message belongs to.

    A resolved conversation is never reopened, and a bot conversation idle
    for longer than ``idle_after`` is over: both start a new one. Queued and
    assigned conversations stay open however long they wait.
    """
    latest = await latest_conversation(session, visitor_id)
    return await open_after(session, visitor_id, latest, idle_after)


async def open_after(
    session: AsyncSession,
    visitor_id: str,
    latest: Conversation | None,
    idle_after: timedelta | None = None,
) -> Conversation:
    """``open_conversation`` when the caller has already read the latest one."""
    conversation = latest
    if (conversation is not None and conversation.state == "resolved") or (
        conversation is not None
        and idle_after is not None
        and conversation.state == "bot"
        # A leave-a-message flow ends with the visit too: a visitor back
        # hours later is not taken down as leaving that message.
        and as_utc(conversation.updated_at) < utcnow() - idle_after
    ):
        conversation = None
    if conversation is None:
        conversation = Conversation(visitor_id=visitor_id, state="bot")
        session.add(conversation)
        await session.flush()
        await log_event(session, "conversation_started", visitor_id, conversation.id)
    return conversation


async def agents_by_id(session: AsyncSession, ids: set[int]) -> dict[int, Agent]:
    if not ids:
        return {}
    rows = await session.scalars(select(Agent).where(Agent.id.in_(ids)))
    return {a.id: a for a in rows}


async def active_chat_counts(session: AsyncSession) -> dict[int, int]:
    """Assigned conversations per agent."""
    rows = await session.execute(
        select(Conversation.assigned_agent_id, func.count())
        .where(Conversation.state == "assigned", Conversation.assigned_agent_id.is_not(None))
        .group_by(Conversation.assigned_agent_id)
    )
    return {agent_id: count for agent_id, count in rows if agent_id is not None}


async def queued_conversations(session: AsyncSession) -> list[Conversation]:
    """The queue, first come first served."""
    rows = await session.scalars(
        select(Conversation)
        .where(Conversation.state == "queued")
        .order_by(Conversation.queued_at, Conversation.id)
    )
    return list(rows)
