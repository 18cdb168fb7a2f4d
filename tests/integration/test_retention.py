"""Retention purge on real SQLite and PostgreSQL: exactly the old, closed data goes.

Rows are written with old timestamps directly (the purge only looks at
timestamps); Rasa's tracker table ``events`` is created with the columns the
chat server reads, as Rasa's SQLTrackerStore would have created it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from chat_server.db.engagement_models import Campaign, CampaignAssignment, EngagementState
from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.migrate import upgrade_to_head
from chat_server.db.models import (
    Conversation,
    Followup,
    InteractionEvent,
    Message,
    TrackerOutbox,
    Visitor,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from chat_server.services.privacy import PrivacyService
from chat_server.services.retention import RetentionService
from tests.integration.conftest import start_server
from tests.support.campaigns import campaign_values

NOW = utcnow()
OLD = NOW - timedelta(days=400)
RECENT = NOW - timedelta(days=10)

_tracker = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Integer),
    Column("data", Text),
)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    async with engine.begin() as conn:
        await conn.run_sync(_tracker.metadata.create_all)
    yield engine
    await engine.dispose()


def _conversation(visitor_id: str, state: str, at: datetime, messages: int) -> Conversation:
    conv = Conversation(visitor_id=visitor_id, state=state, created_at=at, updated_at=at)
    conv.messages_to_add = [  # type: ignore[attr-defined]
        Message(visitor_id=visitor_id, direction="visitor", text=f"hi {i}", created_at=at)
        for i in range(messages)
    ]
    return conv


async def seed(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """Three visitors: one entirely old, one old but waiting for an agent, one active."""
    ids: dict[str, Any] = {}
    async with sessions.begin() as session:
        for vid, seen in (("gone", OLD), ("waiting", OLD), ("active", RECENT)):
            session.add(Visitor(id=vid, profile={}, created_at=OLD, last_seen_at=seen))
        await session.flush()
        convs = {
            "gone_resolved": _conversation("gone", "resolved", OLD, 3),
            "gone_bot": _conversation("gone", "bot", OLD, 2),
            "waiting_queued": _conversation("waiting", "queued", OLD, 2),
            "waiting_assigned": _conversation("waiting", "assigned", OLD, 1),
            "active_old": _conversation("active", "resolved", OLD, 2),
            "active_recent": _conversation("active", "bot", RECENT, 2),
        }
        for conv in convs.values():
            session.add(conv)
        await session.flush()
        for conv in convs.values():
            for m in conv.messages_to_add:  # type: ignore[attr-defined]
                m.conversation_id = conv.id
                session.add(m)
        ids["conversations"] = {k: c.id for k, c in convs.items()}
        for vid in ("gone", "waiting", "active"):
            session.add(InteractionEvent(type="old", visitor_id=vid, data={}, created_at=OLD))
            session.add(TrackerOutbox(visitor_id=vid, events=[], created_at=OLD))
            session.add(Followup(visitor_id=vid, email="a@b.io", message="m", created_at=OLD))
        session.add(
            InteractionEvent(type="recent", visitor_id="active", data={}, created_at=RECENT)
        )
        session.add(TrackerOutbox(visitor_id="active", events=[], created_at=RECENT))
        session.add(Followup(visitor_id="active", email="a@b.io", message="m", created_at=RECENT))
        hook = WebhookEndpoint(
            url="https://example.com/h", topics=["csat"], secret="s", created_at=OLD
        )
        session.add(hook)
        await session.flush()
        for at in (OLD, RECENT):
            session.add(
                WebhookDelivery(
                    endpoint_id=hook.id,
                    visitor_id="active",
                    topic="csat",
                    payload={},
                    status="delivered",
                    next_attempt_at=at,
                    created_at=at,
                )
            )
        # Campaign manners: an anonymous unit never stored as a visitor, untouched
        # for long; the gone visitor's (erased with them); an active one's.
        for unit, at in (("never-stored", OLD), ("gone", RECENT), ("active", RECENT)):
            session.add(EngagementState(unit=unit, version=1, updated_at=at))
        campaign = Campaign(**campaign_values())
        session.add(campaign)
        await session.flush()
        session.add(
            CampaignAssignment(campaign_id=campaign.id, unit="gone", arm="A", assigned_at=OLD)
        )
        for vid in ("gone", "waiting", "active"):
            for i in range(3):
                await session.execute(
                    _tracker.insert().values(
                        sender_id=vid, type_name="user", timestamp=i, data="{}"
                    )
                )
    return ids


async def snapshot(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    async with sessions() as session:
        return {
            "visitors": set(await session.scalars(select(Visitor.id))),
            "conversations": set(await session.scalars(select(Conversation.id))),
            "messages": await session.scalar(select(func.count()).select_from(Message)),
            "events": set(await session.scalars(select(InteractionEvent.type))),
            "outbox": await session.scalar(select(func.count()).select_from(TrackerOutbox)),
            "followups": await session.scalar(select(func.count()).select_from(Followup)),
            "tracker": set(await session.scalars(select(_tracker.c.sender_id))),
            "manners": set(await session.scalars(select(EngagementState.unit))),
            "arms": set(await session.scalars(select(CampaignAssignment.unit))),
        }


def retention(sessions: async_sessionmaker[AsyncSession], days: int = 365) -> RetentionService:
    # A tiny batch so every table needs several batches.
    return RetentionService(sessions, PrivacyService(sessions), days, 6, batch_size=2)


async def test_purge_deletes_exactly_old_closed_data(engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(engine)
    ids = (await seed(sessions))["conversations"]
    before = await snapshot(sessions)

    counts = await retention(sessions).purge(dry_run=True)
    assert counts == {
        "conversations": 3,  # gone_resolved, gone_bot, active_old
        "messages": 7,
        "interaction_events": 3,
        "tracker_outbox": 3,
        "followups": 3,
        "webhook_deliveries": 1,
        "email_outbox": 0,
        "visitors": 1,  # gone
        "engagement_state": 1,  # never-stored ("gone"'s goes with them)
    }
    assert await snapshot(sessions) == before  # a dry run deletes nothing

    counts = await retention(sessions).purge()
    assert counts == {
        "conversations": 3,
        "messages": 7,
        "interaction_events": 3,
        "tracker_outbox": 3,
        "followups": 3,
        "webhook_deliveries": 1,
        "email_outbox": 0,
        "visitors": 1,
        "tracker_events": 3,
        "engagement_state": 1,
    }
    after = await snapshot(sessions)
    assert after["visitors"] == {"waiting", "active"}
    # Open conversations stay however old; the active visitor's recent one too.
    assert after["conversations"] == {
        ids["waiting_queued"],
        ids["waiting_assigned"],
        ids["active_recent"],
    }
    assert after["messages"] == 2 + 1 + 2
    assert after["events"] == {"recent"}
    assert after["outbox"] == 1
    assert after["followups"] == 1
    assert after["tracker"] == {"waiting", "active"}
    assert after["manners"] == {"active"}
    assert after["arms"] == set()

    # Nothing left to do: a second purge deletes nothing.
    assert set((await retention(sessions).purge()).values()) == {0}


async def test_zero_days_keeps_everything(engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(engine)
    await seed(sessions)
    before = await snapshot(sessions)
    assert await retention(sessions, days=0).purge() == {}
    assert await snapshot(sessions) == before


async def test_server_purges_on_its_schedule(engine: AsyncEngine, database_url: str) -> None:
    sessions = create_sessionmaker(engine)
    await seed(sessions)
    srv = await start_server(database_url, retention_days=30)
    try:
        for _ in range(100):
            if (await snapshot(sessions))["visitors"] == {"waiting", "active"}:
                break
            await asyncio.sleep(0.1)
        after = await snapshot(sessions)
    finally:
        await srv.close()
    assert after["visitors"] == {"waiting", "active"}
    assert after["events"] == {"recent"}
