"""The consoles' conversation summaries built together (Publisher.summaries,
used by publish_soon) equal the ones built one at a time (Publisher.summary)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from chat_server.db import message_queries
from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.migrate import upgrade_to_head
from chat_server.db.models import Agent, Conversation, Visitor
from chat_server.services.publisher import Publisher


class _Online:
    """Just what summaries read of the notifier: who is online."""

    def visitor_online(self, visitor_id: str) -> bool:
        return visitor_id.endswith("1")


async def test_summaries_together_equal_one_at_a_time(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    sessions = create_sessionmaker(engine)
    async with sessions.begin() as session:
        ann = Agent(username="ann", display_name="Ann", password_hash="x", role="agent")
        bob = Agent(username="bob", display_name="Bob", password_hash="x", role="agent")
        session.add_all([ann, bob])
        await session.flush()
        specs: list[dict[str, Any]] = [
            {"state": "bot"},  # no message at all
            {"state": "queued", "messages": [("visitor", None)]},
            {"state": "queued", "messages": [("visitor", None), ("bot", None)]},
            {"state": "assigned", "agent": ann, "messages": [("agent", ann)]},
            # Bob wrote last in Ann's conversation (a transfer).
            {"state": "assigned", "agent": ann, "messages": [("agent", bob), ("note", bob)]},
            {"state": "resolved", "messages": [("visitor", None)], "csat": 4},
        ]
        for i, spec in enumerate(specs):
            visitor = Visitor(id=f"v{i}", profile={}, name=f"V{i}" if i % 2 else None)
            session.add(visitor)
            await session.flush()
            conversation = Conversation(
                visitor_id=visitor.id,
                state=spec["state"],
                assigned_agent_id=spec["agent"].id if "agent" in spec else None,
                csat_score=spec.get("csat"),
            )
            session.add(conversation)
            await session.flush()
            for n, (direction, author) in enumerate(spec.get("messages", [])):
                await message_queries.add_message(
                    session,
                    conversation,
                    direction,
                    f"{direction} {n}",
                    agent_id=author.id if author else None,
                )
    publisher = Publisher(sessions, _Online())  # type: ignore[arg-type]
    async with sessions() as session:
        conversations = list(await session.scalars(select(Conversation).order_by(Conversation.id)))
        one_by_one = [await publisher.summary(session, c) for c in conversations]
        together = await publisher.summaries(session, conversations)
    assert together == one_by_one
    assert [s["queue_position"] for s in together if s["state"] == "queued"] == [1, 2]
    assert together[4]["last_message"]["agent"]["display_name"] == "Bob"
    await engine.dispose()
