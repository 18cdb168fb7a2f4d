"""Storing many visitors' messages at once (db/visitor_message_batch.py) writes
what storing them one by one writes, on SQLite and PostgreSQL; anything but
the plain case is left to the full path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import conversation_queries, event_queries, message_queries
from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.migrate import upgrade_to_head
from chat_server.db.models import (
    Conversation,
    InteractionEvent,
    Message,
    TrackerOutbox,
    Visitor,
    utcnow,
)
from chat_server.db.visitor_message_batch import VisitorText, store
from chat_server.services.tracker_sync import visitor_said

IDLE = timedelta(minutes=60)

# visitor -> how their latest conversation stands before the batch
SCENARIO: dict[str, dict[str, Any] | None] = {
    "bot": {"state": "bot"},
    "queued": {"state": "queued"},
    "assigned": {"state": "assigned", "unread": 2},
    "no_conversation": None,
    "resolved": {"state": "resolved"},
    "idle": {"state": "bot", "idle": True},
    "followup": {"state": "bot", "followup_stage": "email"},
    "campaign": {"state": "bot", "campaign_id": 7},
    "retry": {"state": "assigned"},
}
PLAIN = {"bot", "queued", "assigned"}


async def _database(url: str) -> async_sessionmaker[AsyncSession]:
    engine = create_engine(url)
    await upgrade_to_head(engine)
    sessions = create_sessionmaker(engine)
    async with sessions.begin() as session:
        for visitor_id, spec in SCENARIO.items():
            session.add(Visitor(id=visitor_id, profile={}, last_seq=3))
            await session.flush()
            if spec is None:
                continue
            old = utcnow() - (IDLE * 2 if spec.get("idle") else timedelta(0))
            conversation = Conversation(
                visitor_id=visitor_id,
                state=spec["state"],
                unread=spec.get("unread", 0),
                followup_stage=spec.get("followup_stage"),
                campaign_id=spec.get("campaign_id"),
                last_seq=5,
                updated_at=old,
            )
            session.add(conversation)
            await session.flush()
            if visitor_id == "retry":
                await message_queries.add_message(
                    session, conversation, "visitor", "first try", client_id="c-1"
                )
                conversation.updated_at = old
    return sessions


def _items() -> list[VisitorText]:
    return [
        VisitorText(v, f"hi from {v}", "https://shop.example/p", "c-1" if v == "retry" else None)
        for v in SCENARIO
    ]


async def _snapshot(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    async with sessions() as session:
        messages = [
            (m.visitor_id, m.seq, m.visitor_seq, m.direction, m.text, m.page_url, m.handled)
            for m in await session.scalars(
                select(Message).where(Message.text.like("hi from %")).order_by(Message.visitor_id)
            )
        ]
        conversations = [
            (c.visitor_id, c.state, c.last_seq, c.unread)
            for c in await session.scalars(select(Conversation).order_by(Conversation.visitor_id))
        ]
        visitors = [
            (v.id, v.last_seq) for v in await session.scalars(select(Visitor).order_by(Visitor.id))
        ]
        events = sorted(
            (e.type, e.visitor_id, e.data.get("state"))
            for e in await session.scalars(
                select(InteractionEvent).where(InteractionEvent.type == "message_received")
            )
        )
        outbox = sorted(
            (o.visitor_id, o.events[0]["text"])
            for o in await session.scalars(select(TrackerOutbox))
        )
    return {
        "messages": messages,
        "conversations": conversations,
        "visitors": visitors,
        "events": events,
        "outbox": outbox,
    }


async def _one_by_one(session: AsyncSession, item: VisitorText) -> None:
    """What the full path (services/conversations.py) writes for a plain message."""
    conversation = await conversation_queries.open_conversation(session, item.visitor_id, IDLE)
    message = await message_queries.add_message(
        session,
        conversation,
        "visitor",
        item.text,
        page_url=item.page_url,
        client_id=item.client_id,
        handled=conversation.state != "bot",
    )
    await event_queries.log_event(
        session,
        "message_received",
        item.visitor_id,
        conversation.id,
        {"message_id": message.id, "state": conversation.state},
    )
    if conversation.state in ("queued", "assigned"):
        if conversation.state == "assigned":
            conversation.unread += 1
        await event_queries.add_tracker_events(session, item.visitor_id, [visitor_said(item.text)])


async def test_takes_only_plain_messages_and_writes_what_one_by_one_writes(
    database_url: str,
) -> None:
    sessions = await _database(database_url)
    async with sessions.begin() as session:
        filed = await store(session, _items(), IDLE, visitor_said)
    taken = {item.visitor_id for item, f in zip(_items(), filed, strict=True) if f is not None}
    assert taken == PLAIN
    for item, f in zip(_items(), filed, strict=True):
        if f is not None:
            assert f.message.visitor_id == item.visitor_id and f.message.id > 0
            assert f.conversation.last_seq == f.message.seq == 6
            assert f.message.visitor_seq == 4

    bulk_snapshot = await _snapshot(sessions)

    # The same plain messages stored one by one, from the same starting point.
    async with sessions.begin() as session:
        for table in (InteractionEvent, TrackerOutbox, Message, Conversation, Visitor):
            await session.execute(delete(table))
    sessions = await _database(database_url)
    async with sessions.begin() as session:
        for item in _items():
            if item.visitor_id in PLAIN:
                await _one_by_one(session, item)
    assert bulk_snapshot == await _snapshot(sessions)
    assert len(bulk_snapshot["messages"]) == 3 and len(bulk_snapshot["outbox"]) == 2


async def test_the_same_visitor_twice_in_a_batch_is_stored_once(database_url: str) -> None:
    sessions = await _database(database_url)
    twice = [VisitorText("queued", "hi from queued"), VisitorText("queued", "hi from queued 2")]
    async with sessions.begin() as session:
        filed = await store(session, twice, IDLE, visitor_said)
    assert filed[0] is not None and filed[1] is None


async def test_a_bot_conversation_with_tracker_events_waiting_says_so(database_url: str) -> None:
    """After a hand-back the outbox holds what the bot has not heard: the turn
    must deliver it first (tracker_behind); without rows it can skip that."""
    sessions = await _database(database_url)
    async with sessions.begin() as session:
        filed = await store(session, [VisitorText("bot", "first")], IDLE, visitor_said)
    assert filed[0] is not None and filed[0].tracker_behind is False
    async with sessions.begin() as session:
        await event_queries.add_tracker_events(session, "bot", [visitor_said("said to a person")])
        filed = await store(
            session,
            [VisitorText("bot", "second"), VisitorText("queued", "to a person")],
            IDLE,
            visitor_said,
        )
    assert filed[0] is not None and filed[0].tracker_behind is True
    # A person's conversation has no bot turn to come: nothing to report.
    assert filed[1] is not None and filed[1].tracker_behind is False
