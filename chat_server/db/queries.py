"""Query functions: each takes an AsyncSession; callers own the transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server import redaction
from chat_server.db.engine import LOGGED_EVENT_TYPES
from chat_server.db.models import (
    Agent,
    Conversation,
    InteractionEvent,
    Message,
    TrackerOutbox,
    Visitor,
    utcnow,
)

# REDACT_PII_IN_ANALYTICS: mask PII in interaction events (set by build_services).
_redact_events = False
# INTERACTION_LOG: write the event log at all (set by build_services).
_log_events = True
# Written even with INTERACTION_LOG off: the proof of what a visitor agreed to.
ALWAYS_LOGGED = frozenset({"consent_changed"})


def redact_events(enabled: bool) -> None:
    """Mask emails, phone and card numbers in events logged from now on."""
    global _redact_events
    _redact_events = enabled


def log_events(enabled: bool) -> None:
    """Write interaction events (True) or only those in ALWAYS_LOGGED (False)."""
    global _log_events
    _log_events = enabled


# What a visitor may see of a conversation (notes and system lines are for agents).
VISITOR_DIRECTIONS = ("visitor", "bot", "agent")


async def get_visitor(session: AsyncSession, visitor_id: str) -> Visitor | None:
    return await session.get(Visitor, visitor_id)


async def create_visitor(
    session: AsyncSession, visitor_id: str, external_id: str | None = None
) -> Visitor:
    visitor = Visitor(id=visitor_id, profile={}, external_id=external_id)
    session.add(visitor)
    await session.flush()
    return visitor


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
    conversation = await latest_conversation(session, visitor_id)
    if (conversation is not None and conversation.state == "resolved") or (
        conversation is not None
        and idle_after is not None
        and conversation.state == "bot"
        and conversation.followup_stage is None
        and as_utc(conversation.updated_at) < utcnow() - idle_after
    ):
        conversation = None
    if conversation is None:
        conversation = Conversation(visitor_id=visitor_id, state="bot")
        session.add(conversation)
        await session.flush()
        await log_event(session, "conversation_started", visitor_id, conversation.id)
    return conversation


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def add_message(
    session: AsyncSession,
    conversation: Conversation,
    direction: str,
    text: str | None,
    payload: dict[str, Any] | None = None,
    page_url: str | None = None,
    agent_id: int | None = None,
    client_id: str | None = None,
    handled: bool = True,
) -> Message:
    message = Message(
        conversation_id=conversation.id,
        visitor_id=conversation.visitor_id,
        direction=direction,
        text=text,
        payload=payload,
        page_url=page_url,
        agent_id=agent_id,
        client_id=client_id,
        handled=handled,
    )
    session.add(message)
    conversation.updated_at = utcnow()
    await session.flush()
    return message


async def message_by_client_id(
    session: AsyncSession, visitor_id: str, client_id: str
) -> Message | None:
    """The message a client already sent under ``client_id``, if any."""
    found: Message | None = await session.scalar(
        select(Message).where(Message.visitor_id == visitor_id, Message.client_id == client_id)
    )
    return found


async def messages_after(
    session: AsyncSession, visitor_id: str, after_id: int, limit: int
) -> list[Message]:
    """The visitor's messages newer than ``after_id`` (at most ``limit``), oldest first."""
    rows = await session.scalars(
        select(Message)
        .where(
            Message.visitor_id == visitor_id,
            Message.direction.in_(VISITOR_DIRECTIONS),
            Message.id > after_id,
        )
        .order_by(Message.id)
        .limit(limit)
    )
    return list(rows.all())


async def recent_messages(
    session: AsyncSession, visitor_id: str, limit: int, before_id: int | None = None
) -> list[Message]:
    """The visitor's latest ``limit`` messages (older than ``before_id``), oldest first.

    Only what the visitor may see: no internal notes, no system lines.
    """
    query = select(Message).where(
        Message.visitor_id == visitor_id, Message.direction.in_(VISITOR_DIRECTIONS)
    )
    if before_id is not None:
        query = query.where(Message.id < before_id)
    rows = await session.scalars(query.order_by(Message.id.desc()).limit(limit))
    return list(reversed(rows.all()))


async def has_agent_reply(session: AsyncSession, conversation_id: int) -> bool:
    """Whether an agent has written to the visitor in this conversation."""
    found = await session.scalar(
        select(Message.id)
        .where(Message.conversation_id == conversation_id, Message.direction == "agent")
        .limit(1)
    )
    return found is not None


async def log_event(
    session: AsyncSession,
    type_: str,
    visitor_id: str | None,
    conversation_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append one interaction event (docs/analytics.md) to the transaction."""
    if not _log_events and type_ not in ALWAYS_LOGGED:
        return
    data = data or {}
    if _redact_events:
        data = redaction.redact_value(data)
    session.add(
        InteractionEvent(
            type=type_, visitor_id=visitor_id, conversation_id=conversation_id, data=data
        )
    )
    session.info.setdefault(LOGGED_EVENT_TYPES, []).append(type_)


async def log_event_once(
    session: AsyncSession,
    type_: str,
    visitor_id: str | None,
    dedupe_key: str,
    data: dict[str, Any],
    conversation_id: int | None = None,
) -> bool:
    """Append an event unless one with ``dedupe_key`` exists; True when added.

    The unique index settles a race between two processes: the loser's
    savepoint is rolled back and it reports a duplicate.
    """
    if not _log_events:
        return True
    if await session.scalar(
        select(InteractionEvent.id).where(InteractionEvent.dedupe_key == dedupe_key)
    ):
        return False
    if _redact_events:
        data = redaction.redact_value(data)
    try:
        async with session.begin_nested():
            session.add(
                InteractionEvent(
                    type=type_,
                    visitor_id=visitor_id,
                    conversation_id=conversation_id,
                    data=data,
                    dedupe_key=dedupe_key,
                )
            )
    except IntegrityError:
        return False
    session.info.setdefault(LOGGED_EVENT_TYPES, []).append(type_)
    return True


async def visitor_by_external_id(session: AsyncSession, external_id: str) -> Visitor | None:
    return await session.scalar(select(Visitor).where(Visitor.external_id == external_id))


async def move_visitor_data(session: AsyncSession, source_id: str, target_id: str) -> None:
    """Reassign every conversation, message and event of ``source_id`` to ``target_id``."""
    for model in (Conversation, Message, InteractionEvent):
        await session.execute(
            update(model).where(model.visitor_id == source_id).values(visitor_id=target_id)
        )


async def conversation_messages(
    session: AsyncSession,
    conversation_id: int,
    limit: int,
    before_id: int | None = None,
    after_id: int | None = None,
) -> list[Message]:
    """A conversation's messages, oldest first: the latest ``limit`` (older than
    ``before_id``), or with ``after_id`` the first ``limit`` newer than it."""
    query = select(Message).where(Message.conversation_id == conversation_id)
    if after_id is not None:
        rows = await session.scalars(
            query.where(Message.id > after_id).order_by(Message.id).limit(limit)
        )
        return list(rows.all())
    if before_id is not None:
        query = query.where(Message.id < before_id)
    rows = await session.scalars(query.order_by(Message.id.desc()).limit(limit))
    return list(reversed(rows.all()))


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


async def add_tracker_events(
    session: AsyncSession, visitor_id: str, events: list[dict[str, Any]]
) -> None:
    """Queue events for the visitor's Rasa tracker (sent in order by TrackerSync)."""
    session.add(TrackerOutbox(visitor_id=visitor_id, events=events))


async def offered_payloads(session: AsyncSession, visitor_id: str, last: int = 3) -> set[str]:
    """The quick-reply payloads of the bot's ``last`` messages to a visitor."""
    rows = await session.scalars(
        select(Message.payload)
        .where(Message.visitor_id == visitor_id, Message.direction == "bot")
        .order_by(Message.id.desc())
        .limit(last)
    )
    offered: set[str] = set()
    for payload in rows:
        for reply in (payload or {}).get("quick_replies") or []:
            if isinstance(reply, dict) and isinstance(reply.get("payload"), str):
                offered.add(reply["payload"])
    return offered
