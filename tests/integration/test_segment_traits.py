"""Visitor traits kept up to date by the real services as events arrive.

A Rapport widget visitor with a phone's User-Agent and a German
Accept-Language views pages over the socket; conversions, a CSAT rating,
consent and a verified identity go through the services that store them.
Then the traits row says so, and a segment over it finds the visitor.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from chat_server.db.engagement_models import VisitorTag, VisitorTraits
from chat_server.db.models import Conversation, utcnow
from chat_server.http.keys import SERVICES
from chat_server.services import consent
from chat_server.services.segments import traits
from chat_server.services.segments.backfill import backfill_traits
from chat_server.services.segments.filter import parse_filter
from chat_server.services.tracking import Goal
from chat_server.verification import user_hash
from tests.integration.conftest import IDENTITY_SECRET, base
from tests.support.visitor import Visitor

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
HEADERS = {"User-Agent": IPHONE, "Accept-Language": "de-DE,de;q=0.9,en;q=0.8"}
SHOP = "http://127.0.0.1/products/tents"


@pytest.fixture
async def db(server: TestServer) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(server.settings.database_url)  # type: ignore[attr-defined]
    yield engine
    await engine.dispose()


async def row(db: AsyncEngine, visitor_id: str, **expected: Any) -> Any:
    """The visitor's traits once they show ``expected`` (socket events have no ack)."""
    found = None
    for _ in range(100):
        async with db.connect() as conn:
            found = (
                await conn.execute(
                    select(VisitorTraits).where(VisitorTraits.visitor_id == visitor_id)
                )
            ).one_or_none()
        if found is not None and all(getattr(found, k) == v for k, v in expected.items()):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"traits never became {expected}: {found}")


async def tags(db: AsyncEngine, visitor_id: str) -> set[tuple[str, str]]:
    async with db.connect() as conn:
        result = await conn.execute(
            select(VisitorTag.kind, VisitorTag.value).where(VisitorTag.visitor_id == visitor_id)
        )
        return {(kind, value) for kind, value in result}


async def test_page_views_make_visits_sources_device_and_language(
    server: TestServer, db: AsyncEngine
) -> None:
    visitor = Visitor(rapport=True)
    await visitor.connect(base(server), headers=HEADERS)
    try:
        vid = visitor.visitor_id
        await visitor.sio.emit(
            "page_view",
            {
                "url": SHOP + "?utm_source=newsletter&utm_medium=email",
                "referrer": "https://mail.example/inbox",
            },
        )
        first = await row(db, vid, page_views=1)
        assert (first.visits, first.device, first.language) == (1, "mobile", "de-de")
        assert (first.first_source, first.first_medium) == ("newsletter", "email")
        assert (first.first_referrer, first.last_referrer) == ("mail.example", "mail.example")

        # The same visit: a page of the site itself is no referrer.
        await visitor.sio.emit(
            "page_view", {"url": SHOP + "/2", "referrer": "http://127.0.0.1/products/tents"}
        )
        same = await row(db, vid, page_views=2)
        assert (same.visits, same.last_source, same.last_referrer) == (
            1,
            "newsletter",
            "mail.example",
        )

        # Back after a break longer than the visit gap: a new visit from Google.
        async with db.begin() as conn:
            await conn.execute(
                update(VisitorTraits)
                .where(VisitorTraits.visitor_id == vid)
                .values(last_seen_at=utcnow() - timedelta(hours=3))
            )
        await visitor.sio.emit("page_view", {"url": SHOP + "?utm_source=google"})
        again = await row(db, vid, page_views=3)
        assert (again.visits, again.last_source, again.last_medium) == (2, "google", None)
        assert (again.first_source, again.last_referrer) == ("newsletter", None)
        assert again.first_seen_at < again.visit_started_at
    finally:
        await visitor.close()

    segments = server.app[SERVICES].segments
    returning_german_phones = parse_filter(
        {
            "conditions": [
                {"field": "device", "op": "eq", "value": "mobile"},
                {"field": "language", "op": "starts_with", "value": "de"},
                {"field": "visits", "op": "gte", "value": 2},
                {"field": "first_source", "op": "eq", "value": "newsletter"},
                {"field": "last_seen", "op": "within", "value": 1},
            ]
        }
    )
    assert await segments.preview_count(returning_german_phones) == 1


async def test_conversions_csat_consent_identity_and_profile(
    server: TestServer, db: AsyncEngine
) -> None:
    services = server.app[SERVICES]
    visitor = Visitor(rapport=True)
    await visitor.connect(
        base(server),
        identity={"user_id": "cust-seg", "user_hash": user_hash(IDENTITY_SECRET, "cust-seg")},
    )
    try:
        vid = visitor.visitor_id
        await row(db, vid, identified=True)

        purchase = Goal("purchase", 80.0, "EUR", "order-1", SHOP)
        assert await services.tracking.conversion(vid, purchase)
        assert not await services.tracking.conversion(vid, purchase)  # a reload: counted once
        assert await services.tracking.conversion(vid, Goal("signup", 0.0, None, None, SHOP))
        converted = await row(db, vid, conversions=2)
        assert converted.conversion_value == 80.0
        assert await tags(db, vid) == {("goal", "purchase"), ("goal", "signup")}

        now = utcnow()
        async with db.begin() as conn:
            await conn.execute(
                insert(Conversation).values(
                    visitor_id=vid, state="resolved", created_at=now, updated_at=now
                )
            )
            conversation_id = (
                await conn.execute(select(Conversation.id).where(Conversation.visitor_id == vid))
            ).scalar_one()
        assert await services.handoff.record_csat(vid, conversation_id, 4, None)
        await row(db, vid, csat_score=4)

        async with services.privacy.sessions.begin() as session:
            await consent.record(
                session,
                vid,
                None,
                topic=consent.MARKETING,
                granted=True,
                source="test",
                agreed_to="the newsletter",
            )
        await row(db, vid, consent=True)
        async with services.privacy.sessions.begin() as session:
            # What bot_turns.py calls with the bot's slots after a turn.
            await traits.profile_sync(
                session,
                vid,
                utcnow(),
                {"interests": ["Tents", "shoes"], "product_category": "tents", "budget": "$300"},
            )
        await row(db, vid, budget=300.0)
        assert {("interest", "tents"), ("interest", "shoes"), ("category", "tents")} <= await tags(
            db, vid
        )
    finally:
        await visitor.close()

    loyal = await services.segments.create(
        "Loyal campers",
        parse_filter(
            {
                "conditions": [
                    {"field": "identified", "op": "is", "value": True},
                    {"field": "goal", "op": "has", "value": "purchase"},
                    {"field": "interest", "op": "has", "value": "tents"},
                    {"field": "budget", "op": "gte", "value": 100},
                    {"field": "csat_given", "op": "is", "value": True},
                    {"field": "consent", "op": "is", "value": True},
                ]
            }
        ),
    )
    assert await services.segments.count(loyal["id"]) == 1
    assert await services.segments.contains(loyal["id"], vid)

    # "Forget me" (and retention, which erases inactive visitors) removes the traits too.
    exported = await services.privacy.export(vid)
    assert exported["traits"]["conversions"] == 2 and exported["traits"]["identified"] is True
    assert {"kind": "goal", "value": "purchase"} in exported["tags"]
    erased = await services.privacy.erase(vid)
    assert erased["visitor_traits"] == 1 and erased["visitor_tags"] == 5
    assert await tags(db, vid) == set()
    async with db.connect() as conn:
        left = await conn.execute(select(VisitorTraits).where(VisitorTraits.visitor_id == vid))
        assert left.one_or_none() is None
    assert not await services.segments.contains(loyal["id"], vid)


TRAIT_COLUMNS = (
    "identified", "visits", "page_views", "first_source", "first_medium", "first_campaign",
    "first_referrer", "last_source", "last_medium", "last_campaign", "last_referrer",
    "conversions", "conversion_value", "consent", "csat_score",
)  # fmt: skip


async def test_a_backfill_rebuilds_what_the_live_path_built_from_the_event_log(
    server: TestServer, db: AsyncEngine
) -> None:
    """Visitors seen before the upgrade to 0016: `backfill-traits` replays their
    events through the same upkeep. Here the live path builds a row, the row is
    deleted, and the backfill builds it again (only device and browser language,
    never logged, stay unknown)."""
    services = server.app[SERVICES]
    visitor = Visitor(rapport=True)
    await visitor.connect(
        base(server),
        headers=HEADERS,
        identity={"user_id": "cust-back", "user_hash": user_hash(IDENTITY_SECRET, "cust-back")},
    )
    try:
        vid = visitor.visitor_id
        url = SHOP + "?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
        await visitor.sio.emit("page_view", {"url": url, "referrer": "https://mail.example/"})
        await row(db, vid, page_views=1)
        await visitor.sio.emit("page_view", {"url": SHOP + "/2"})
        await row(db, vid, page_views=2)
        assert await services.tracking.conversion(vid, Goal("purchase", 55.0, "EUR", "o-9", SHOP))
        async with services.privacy.sessions.begin() as session:
            await consent.record(
                session,
                vid,
                None,
                topic=consent.MARKETING,
                granted=True,
                source="test",
                agreed_to="the newsletter",
            )
        live = await row(db, vid, conversions=1, consent=True)
        # The identity made the row before any page view: the first one still
        # sets the first visit's source (it did not, before the backfill's test).
        assert (live.first_source, live.first_referrer) == ("newsletter", "mail.example")
        live_tags = await tags(db, vid)
    finally:
        await visitor.close()

    async with db.begin() as conn:
        await conn.execute(delete(VisitorTag).where(VisitorTag.visitor_id == vid))
        await conn.execute(delete(VisitorTraits).where(VisitorTraits.visitor_id == vid))
    gap = timedelta(minutes=server.settings.conversation_idle_minutes)  # type: ignore[attr-defined]
    assert await backfill_traits(services.privacy.sessions, gap) == 1
    rebuilt = await row(db, vid)
    assert {c: getattr(rebuilt, c) for c in TRAIT_COLUMNS} == {
        c: getattr(live, c) for c in TRAIT_COLUMNS
    }
    assert (rebuilt.device, rebuilt.language) == (None, None)
    assert abs(rebuilt.first_seen_at - live.first_seen_at) < timedelta(seconds=2)
    assert await tags(db, vid) == live_tags
    # Run again: nobody is missing a row, nothing is counted twice.
    assert await backfill_traits(services.privacy.sessions, gap) == 0
    assert (await row(db, vid)).page_views == 2
