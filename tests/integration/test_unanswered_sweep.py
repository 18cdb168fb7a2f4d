"""The unanswered-message sweep: every stored message whose bot turn never ran
is answered once, whichever and however many nodes sweep (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from chat_server.db import conversation_queries, message_queries, visitor_queries
from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.migrate import upgrade_to_head
from chat_server.db.models import Message, utcnow
from chat_server.services.unanswered import UnansweredSweep


async def test_each_unanswered_message_is_answered_once_by_one_of_two_nodes(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_to_head(engine)
        sessions = create_sessionmaker(engine)
        async with sessions.begin() as session:
            await visitor_queries.create_visitor(session, "v1")
            conversation = await conversation_queries.open_conversation(session, "v1")
            answered = await message_queries.add_message(session, conversation, "visitor", "hi")
            waiting = await message_queries.add_message(
                session,
                conversation,
                "visitor",
                "stored, then the database went away",
                handled=False,
            )
            fresh = await message_queries.add_message(
                session, conversation, "visitor", "its turn is running", handled=False
            )
        ids = (answered.id, waiting.id, fresh.id)
        async with sessions.begin() as session:  # stored a minute ago
            await session.execute(
                update(Message)
                .where(Message.id.in_(ids[:2]))
                .values(created_at=utcnow() - timedelta(minutes=1))
            )

        calls: list[tuple[str, int, str]] = []

        def node(name: str) -> UnansweredSweep:
            async def answer(visitor_id: str, message_id: int) -> bool:
                calls.append((visitor_id, message_id, name))
                await asyncio.sleep(0.05)  # a turn takes time: the other node sweeps meanwhile
                return True

            return UnansweredSweep(sessions, answer, 1, min_age_seconds=20, max_age_minutes=60)

        a, b = node("a"), node("b")
        await asyncio.gather(a.sweep(), b.sweep(), a.sweep(), b.sweep())
        # The handled one is not touched, the fresh one (a live turn) is left alone,
        # the waiting one is answered exactly once.
        assert [(v, m) for v, m, _ in calls] == [("v1", waiting.id)]

        # The node died mid-turn (the message is still unhandled): once its lease
        # has run out, another node answers it.
        async with sessions.begin() as session:
            await session.execute(
                update(Message)
                .where(Message.id == waiting.id)
                .values(turn_claimed_at=utcnow() - timedelta(seconds=21))
            )
        assert await b.sweep() == 1
        assert [m for _, m, _ in calls] == [waiting.id, waiting.id]
    finally:
        await engine.dispose()
