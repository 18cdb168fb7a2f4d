"""Messages and their numbering: storing a message with its per-conversation
``seq`` and per-visitor ``visitor_seq`` (counters on the owning rows), the pages a
visitor or an agent reads, and moving a conversation's messages to another visitor.
Each function takes an AsyncSession; callers own the transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from chat_server.db.models import Conversation, Message, Visitor, utcnow

# What the caller gives of a message (add_messages numbers and files it).
_GIVEN = ("direction", "text", "payload", "page_url", "agent_id", "client_id")

# What a visitor may see of a conversation (notes and system lines are for agents).
VISITOR_DIRECTIONS = ("visitor", "bot", "agent")


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
        direction=direction,
        text=text,
        payload=payload,
        page_url=page_url,
        agent_id=agent_id,
        client_id=client_id,
        handled=handled,
    )
    (stored,) = await add_messages(session, conversation, [message])
    return stored


async def add_messages(
    session: AsyncSession, conversation: Conversation, messages: list[Message]
) -> list[Message]:
    """Store ``messages`` (new, in order, all of one direction) in ``conversation``:
    numbered with one counter update per owning row, inserted with one statement.
    Returns the stored messages (for several, new objects in the session)."""
    if not messages:
        return []
    direction = messages[0].direction
    if any(m.direction != direction for m in messages):
        raise ValueError("add_messages stores messages of one direction")
    # The numbers come from counters on the owning rows: the UPDATE locks the
    # row until commit, so a concurrent insert (another node) waits and takes
    # the next numbers; none is skipped, none is committed out of order.
    # Always the conversation first, then the visitor (one lock order).
    count = len(messages)
    now = utcnow()
    # The conversation's counter update also moves its updated_at (no second UPDATE).
    last = await _next(session, Conversation, conversation.id, count, updated_at=now)
    last_visitor = (
        await _next(session, Visitor, conversation.visitor_id, count)
        if direction in VISITOR_DIRECTIONS
        else None
    )
    set_committed_value(conversation, "updated_at", now)
    if count > 1:  # one INSERT ... RETURNING for all (the ORM inserts one by one)
        rows = [
            {
                **{field: getattr(m, field) for field in _GIVEN},
                "handled": True if m.handled is None else m.handled,
                "conversation_id": conversation.id,
                "visitor_id": conversation.visitor_id,
                "seq": last + offset,
                "visitor_seq": None if last_visitor is None else last_visitor + offset,
                "created_at": now,
            }
            for offset, m in enumerate(messages, start=1 - count)
        ]
        stored = await insert_messages(session, rows)
        await session.flush()
        return stored
    (message,) = messages
    message.conversation_id = conversation.id
    message.visitor_id = conversation.visitor_id
    message.seq = last
    message.visitor_seq = last_visitor
    session.add(message)
    await session.flush()
    return messages


async def insert_messages(session: AsyncSession, rows: list[dict[str, Any]]) -> list[Message]:
    """Insert message rows with one INSERT ... RETURNING; the messages in ``rows``' order."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLAlchemy's order guarantee (sort_by_parameter_order) costs SQLite a
        # statement per row; one statement numbers its rows in VALUES order.
        found = await session.scalars(insert(Message).returning(Message), rows)
        return sorted(found, key=lambda m: m.id)
    return list(
        await session.scalars(
            insert(Message).returning(Message, sort_by_parameter_order=True), rows
        )
    )


async def _next(
    session: AsyncSession,
    model: type[Conversation] | type[Visitor],
    key: Any,
    count: int = 1,
    **also: Any,
) -> int:
    """Take the next ``count`` numbers of a row's ``last_seq`` counter (locks the
    row; ``also``: other columns to set in the same statement); returns the last."""
    taken = await session.scalar(
        update(model)
        .where(model.id == key)
        .values(last_seq=model.last_seq + count, **also)
        .returning(model.last_seq)
        .execution_options(synchronize_session=False)
    )
    if taken is None:
        raise LookupError(f"no {model.__tablename__} row {key!r} to number a message in")
    return int(taken)


async def lock_conversation(session: AsyncSession, conversation_id: int) -> None:
    """Take the conversation's row lock now (PostgreSQL), before the visitor's.

    A transaction that changes the visitor row and then stores a message must
    lock in add_message's order, or two nodes could wait on each other.
    """
    if session.get_bind().dialect.name == "sqlite":
        return  # one writer at a time: SQLite has no row locks (and no FOR UPDATE)
    await session.execute(
        select(Conversation.id).where(Conversation.id == conversation_id).with_for_update()
    )


async def mark_handled(
    session: AsyncSession, message_id: int, intent: str | None, confidence: float | None
) -> None:
    """The visitor message's bot turn ran (with the intent Rasa read, if any)."""
    values: dict[str, Any] = {"handled": True}
    if intent:
        values.update(intent=intent, confidence=confidence)
    await session.execute(
        update(Message)
        .where(Message.id == message_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


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


async def visible_after_seq(
    session: AsyncSession, visitor_id: str, after_seq: int, limit: int
) -> list[Message]:
    """What the visitor may see numbered after ``after_seq``, in order (at most ``limit``)."""
    rows = await session.scalars(
        select(Message)
        .where(Message.visitor_id == visitor_id, Message.visitor_seq > after_seq)
        .order_by(Message.visitor_seq)
        .limit(limit)
    )
    return list(rows.all())


async def visitor_last_seq(session: AsyncSession, visitor_id: str) -> int:
    """The visitor_seq of the visitor's newest visible message (0: none)."""
    found = await session.scalar(select(Visitor.last_seq).where(Visitor.id == visitor_id))
    return int(found or 0)


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


async def conversation_messages(
    session: AsyncSession,
    conversation_id: int,
    limit: int,
    before_id: int | None = None,
    after_id: int | None = None,
    after_seq: int | None = None,
) -> list[Message]:
    """A conversation's messages, oldest first: the latest ``limit`` (older than
    ``before_id``), or with ``after_id`` / ``after_seq`` the first ``limit``
    newer than it."""
    query = select(Message).where(Message.conversation_id == conversation_id)
    if after_seq is not None:
        rows = await session.scalars(
            query.where(Message.seq > after_seq).order_by(Message.seq).limit(limit)
        )
        return list(rows.all())
    if after_id is not None:
        rows = await session.scalars(
            query.where(Message.id > after_id).order_by(Message.id).limit(limit)
        )
        return list(rows.all())
    if before_id is not None:
        query = query.where(Message.id < before_id)
    rows = await session.scalars(query.order_by(Message.id.desc()).limit(limit))
    return list(reversed(rows.all()))


async def carry_conversation(
    session: AsyncSession, conversation: Conversation, target_id: str
) -> int:
    """Give one conversation and its messages to ``target_id``; how many messages moved.

    Only the transcript moves: the conversation's interaction events (consent
    records among them) and follow-ups stay with the visitor who produced them.
    """
    await session.execute(
        update(Conversation).where(Conversation.id == conversation.id).values(visitor_id=target_id)
    )
    moved = await session.execute(
        update(Message)
        .where(Message.conversation_id == conversation.id)
        .values(visitor_id=target_id)
    )
    # In the target's order they come after what the target already has.
    visible = await session.scalars(
        select(Message.id)
        .where(
            Message.conversation_id == conversation.id,
            Message.direction.in_(VISITOR_DIRECTIONS),
        )
        .order_by(Message.id)
    )
    for message_id in list(visible.all()):
        await session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(visitor_seq=await _next(session, Visitor, target_id))
            .execution_options(synchronize_session=False)
        )
    return int(getattr(moved, "rowcount", 0) or 0)


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
