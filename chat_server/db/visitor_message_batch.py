"""Many visitors' messages stored with a handful of statements (group commit's bulk unit).

``store`` does for a batch what message_queries.add_message and the event
log do for one message, in nine statements whatever the batch's size:
retries looked up, latest conversations read, both counters advanced
(``UPDATE … RETURNING``: the rows stay locked until commit, so numbering is
as gapless and ordered as one by one), the messages, their events and
tracker outbox rows inserted, and the bot conversations' waiting outbox rows
looked up (their turn then skips the tracker catch-up when there are none).
Only the plain case is taken: a message whose conversation is open and needs
nothing else (no follow-up dialogue under way, no campaign to credit, no new
conversation, not a retry). For every other
message it answers None and the caller stores it the full way, in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from chat_server.db import event_queries, message_queries
from chat_server.db.models import Conversation, Message, TrackerOutbox, Visitor, as_utc, utcnow

HUMAN_STATES = ("queued", "assigned")


@dataclass(frozen=True)
class VisitorText:
    """A visitor's message to store."""

    visitor_id: str
    text: str
    page_url: str | None = None
    client_id: str | None = None


@dataclass(frozen=True)
class Filed:
    """A stored message and the conversation it went to."""

    conversation: Conversation
    message: Message
    # The visitor's tracker outbox has rows Rasa has not heard yet (a bot
    # conversation after a hand-back): the bot turn delivers them first.
    tracker_behind: bool = False


def plain(conversation: Conversation | None, idle_after: timedelta | None, now: datetime) -> bool:
    """Whether a message to this latest conversation needs nothing but storing."""
    if conversation is None or conversation.followup_stage or conversation.campaign_id is not None:
        return False
    if conversation.state in HUMAN_STATES:
        return True
    return conversation.state == "bot" and (
        idle_after is None or as_utc(conversation.updated_at) >= now - idle_after
    )


async def store(
    session: AsyncSession,
    items: list[VisitorText],
    idle_after: timedelta | None,
    said: Callable[[str], dict[str, Any]],
) -> list[Filed | None]:
    """Store the plain messages of ``items``; None for each one left to the caller.

    ``said`` makes the tracker outbox record of a message a person's conversation got.
    """
    now = utcnow()
    taken: dict[str, int] = {}  # visitor -> index in items (one message per visitor)
    for index, item in enumerate(items):
        taken.setdefault(item.visitor_id, index)
    retried = await _retried(session, items)
    latest = await _latest(session, list(taken))
    chosen = [
        index
        for visitor_id, index in taken.items()
        if (visitor_id, items[index].client_id) not in retried
        and plain(latest.get(visitor_id), idle_after, now)
    ]
    out: list[Filed | None] = [None] * len(items)
    if not chosen:
        return out
    conversations = [latest[items[i].visitor_id] for i in chosen]
    conversation_seq = await _advance_conversations(session, conversations, now)
    visitor_seq = await _advance_visitors(session, [c.visitor_id for c in conversations])
    rows = [
        {
            "conversation_id": c.id,
            "visitor_id": c.visitor_id,
            "seq": conversation_seq[c.id],
            "visitor_seq": visitor_seq[c.visitor_id],
            "direction": "visitor",
            "text": items[i].text,
            "page_url": items[i].page_url,
            "client_id": items[i].client_id,
            # A bot turn is still to come: a retry must know if it ran.
            "handled": c.state != "bot",
            "created_at": now,
        }
        for i, c in zip(chosen, conversations, strict=True)
    ]
    messages = await message_queries.insert_messages(session, rows)
    await event_queries.log_many(
        session,
        [
            ("message_received", c.visitor_id, c.id, {"message_id": m.id, "state": c.state})
            for c, m in zip(conversations, messages, strict=True)
        ],
    )
    outbox = [
        {"visitor_id": c.visitor_id, "events": [said(m.text or "")]}
        for c, m in zip(conversations, messages, strict=True)
        if c.state in HUMAN_STATES
    ]
    if outbox:
        # A person owns these: the bot stays silent, its tracker hears what was said.
        await session.execute(insert(TrackerOutbox), outbox)
    behind = await _tracker_behind(
        session, [c.visitor_id for c in conversations if c.state == "bot"]
    )
    for i, c, m in zip(chosen, conversations, messages, strict=True):
        out[i] = Filed(c, m, tracker_behind=c.visitor_id in behind)
    return out


async def _tracker_behind(session: AsyncSession, visitor_ids: list[str]) -> set[str]:
    """Which of these visitors have tracker outbox rows waiting."""
    if not visitor_ids:
        return set()
    found = await session.scalars(
        select(TrackerOutbox.visitor_id).where(TrackerOutbox.visitor_id.in_(visitor_ids)).distinct()
    )
    return set(found)


async def _retried(session: AsyncSession, items: list[VisitorText]) -> set[tuple[str, str | None]]:
    keys = [(i.visitor_id, i.client_id) for i in items if i.client_id is not None]
    if not keys:
        return set()
    found = await session.execute(
        select(Message.visitor_id, Message.client_id).where(
            tuple_(Message.visitor_id, Message.client_id).in_(keys)
        )
    )
    return {(v, c) for v, c in found.all()}


async def _latest(session: AsyncSession, visitor_ids: list[str]) -> dict[str, Conversation]:
    newest = (
        select(func.max(Conversation.id))
        .where(Conversation.visitor_id.in_(visitor_ids))
        .group_by(Conversation.visitor_id)
    )
    rows = await session.scalars(select(Conversation).where(Conversation.id.in_(newest)))
    return {c.visitor_id: c for c in rows}


async def _advance_conversations(
    session: AsyncSession, conversations: list[Conversation], now: datetime
) -> dict[int, int]:
    """Take each conversation's next number; count the message as unread for its agent."""
    result = await session.execute(
        update(Conversation)
        .where(Conversation.id.in_([c.id for c in conversations]))
        .values(
            last_seq=Conversation.last_seq + 1,
            updated_at=now,
            unread=case(
                (Conversation.state == "assigned", Conversation.unread + 1),
                else_=Conversation.unread,
            ),
        )
        .returning(Conversation.id, Conversation.last_seq, Conversation.unread)
        .execution_options(synchronize_session=False)
    )
    numbers: dict[int, tuple[int, int]] = {row[0]: (row[1], row[2]) for row in result.all()}
    for c in conversations:
        if c.id not in numbers:
            raise LookupError(f"no conversations row {c.id!r} to number a message in")
        seq, unread = numbers[c.id]
        # The loaded objects show what was written (the caller reads them).
        set_committed_value(c, "last_seq", seq)
        set_committed_value(c, "unread", unread)
        set_committed_value(c, "updated_at", now)
    return {key: seq for key, (seq, _) in numbers.items()}


async def _advance_visitors(session: AsyncSession, visitor_ids: list[str]) -> dict[str, int]:
    result = await session.execute(
        update(Visitor)
        .where(Visitor.id.in_(visitor_ids))
        .values(last_seq=Visitor.last_seq + 1)
        .returning(Visitor.id, Visitor.last_seq)
        .execution_options(synchronize_session=False)
    )
    numbers: dict[str, int] = {row[0]: row[1] for row in result.all()}
    missing = set(visitor_ids) - set(numbers)
    if missing:
        raise LookupError(f"no visitors row {sorted(missing)[0]!r} to number a message in")
    return numbers
