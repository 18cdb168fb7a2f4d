"""Every dashboard figure on a small event log seeded by hand; the expected
values are worked out in the comments, never by the code under test.

The log covers 2026-03-01 .. 2026-03-08 (UTC, `to` exclusive) for five
visitors; T(d, h) is 2026-03-d at h:00. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.migrate import upgrade_to_head
from chat_server.db.models import Agent, InteractionEvent, Visitor
from chat_server.services.analytics import AnalyticsService, Window

START, END = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 8, tzinfo=UTC)
ALICE, BOB = 1, 2


def T(day: int, hour: int = 0) -> datetime:  # noqa: N802 - reads like the comments
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def page(url_path: str, utm: str | None = None) -> dict[str, Any]:
    return {"url": "https://shop.example" + url_path, "path": url_path, "utm_source": utm}


def handoff(
    visitor: str,
    conversation: int,
    day: int,
    reason: str,
    agent: int,
    wait: float,
    first: float,
    took: float,
    score: int | None,
) -> list[tuple[str, str, int | None, datetime, dict[str, Any]]]:
    """A handoff at 9:00: requested, queued, assigned ``wait`` s later, first
    agent reply ``first`` s after the queue, resolved ``took`` s after it,
    maybe rated. Figures come from the timestamps; the ``*_seconds`` fields are
    what the server also writes (informational)."""
    at = T(day, 9)
    events: list[tuple[str, str, int | None, datetime, dict[str, Any]]] = [
        (
            "handoff_requested",
            visitor,
            conversation,
            at,
            {"reason": reason, "agents_available": True},
        ),
        (
            "handoff_transition",
            visitor,
            conversation,
            at,
            {"from": "bot", "to": "queued", "reason": reason, "agent_id": None},
        ),
        (
            "handoff_transition",
            visitor,
            conversation,
            at + timedelta(seconds=wait),
            {
                "from": "queued",
                "to": "assigned",
                "reason": reason,
                "agent_id": agent,
                "wait_seconds": wait,
            },
        ),
        (
            "agent_message",
            visitor,
            conversation,
            at + timedelta(seconds=first),
            {"message_id": 100 + conversation, "agent_id": agent},
        ),
        (
            "agent_first_response",
            visitor,
            conversation,
            at + timedelta(seconds=first),
            {"agent_id": agent, "seconds": first},
        ),
        (
            "handoff_transition",
            visitor,
            conversation,
            at + timedelta(seconds=took),
            {
                "from": "assigned",
                "to": "resolved",
                "reason": reason,
                "agent_id": agent,
                "handoff_seconds": took,
            },
        ),
    ]
    if score is not None:
        events.append(
            (
                "csat",
                visitor,
                conversation,
                at + timedelta(seconds=took + 30),
                {"score": score, "comment": False, "agent_id": agent},
            )
        )
    return events


LOG: list[tuple[str, str, int | None, datetime, dict[str, Any]]] = [
    # v1: returning, anonymous; newsletter visit, chats (conversation 1, never
    # handed over), sees two tents and clicks one, buys for 100 two days later
    # (signed by the shop's backend: verified).
    ("page_view", "v1", None, T(1, 10), page("/", "newsletter")),
    ("page_view", "v1", None, T(1, 11), page("/products/tents")),
    (
        "page_left",
        "v1",
        None,
        T(1, 11),
        {"url": "https://shop.example/products/tents", "path": "/products/tents", "seconds": 30},
    ),
    ("widget_opened", "v1", None, T(1, 11), {"url": None}),
    ("conversation_started", "v1", 1, T(1, 11), {}),
    ("message_received", "v1", 1, T(1, 11), {"message_id": 1}),
    ("bot_replied", "v1", 1, T(1, 11), {"intent": "greet", "fallback": False}),
    ("bot_replied", "v1", 1, T(1, 11), {"intent": "find_product", "fallback": False}),
    (
        "card_impression",
        "v1",
        1,
        T(1, 11),
        {"product_id": "p1", "category": "tents", "position": 0},
    ),
    (
        "card_impression",
        "v1",
        1,
        T(1, 11),
        {"product_id": "p2", "category": "tents", "position": 1},
    ),
    ("card_clicked", "v1", None, T(1, 12), {"product_id": "p1", "category": "tents"}),
    (
        "conversion",
        "v1",
        None,
        T(3, 12),
        {"name": "purchase", "value": 100.0, "order_id": "o1", "verified": True},
    ),
    # v2: new, anonymous; from google, opens the chat but writes nothing, buys
    # for 50 (verified by the shop's server), then the browser alone claims a
    # purchase worth 999,999,999, kept as 1,000 unverified (the per-event cap).
    ("page_view", "v2", None, T(2, 10), page("/", "google")),
    ("widget_opened", "v2", None, T(2, 10), {"url": None}),
    (
        "conversion",
        "v2",
        None,
        T(2, 11),
        {"name": "purchase", "value": 50.0, "order_id": "o2", "verified": True},
    ),
    (
        "conversion",
        "v2",
        None,
        T(2, 12),
        {
            "name": "purchase",
            "value": 1000.0,
            "reported_value": 999_999_999.0,
            "order_id": "x1",
            "verified": False,
        },
    ),
    # v3: new, identified (e-mail); two fallbacks, then Alice (wait 30, first
    # reply 45, resolved after 600, rated 4); saw one pair of boots.
    ("page_view", "v3", None, T(3, 8), page("/sale")),
    ("conversation_started", "v3", 2, T(3, 8), {}),
    ("message_received", "v3", 2, T(3, 8), {"message_id": 2}),
    ("bot_replied", "v3", 2, T(3, 8), {"intent": "nlu_fallback", "fallback": True}),
    ("bot_fallback", "v3", 2, T(3, 8), {"text": "Blorp"}),
    ("card_impression", "v3", 2, T(3, 8), {"product_id": "p3", "category": "boots", "position": 0}),
    ("message_received", "v3", 2, T(3, 9), {"message_id": 3}),
    ("bot_replied", "v3", 2, T(3, 9), {"intent": "nlu_fallback", "fallback": True}),
    ("bot_fallback", "v3", 2, T(3, 9), {"text": " BLORP "}),
    *handoff("v3", 2, 3, "fallback", ALICE, wait=30, first=45, took=600, score=4),
    # v4: returning, identified (external id); newsletter, asks for a person:
    # Bob (wait 90, first reply 120, resolved after 900, rated 2); signs up for
    # the newsletter; buys for 30 (verified) and signs up (value 0, logged
    # before verification existed: no flag, so unverified) the next morning.
    ("page_view", "v4", None, T(4, 12), page("/products/jackets", "newsletter")),
    ("conversation_started", "v4", 3, T(4, 12), {}),
    ("message_received", "v4", 3, T(4, 12), {"message_id": 4}),
    ("bot_replied", "v4", 3, T(4, 12), {"intent": "ask_price", "fallback": False}),
    *handoff("v4", 3, 4, "requested", BOB, wait=90, first=120, took=900, score=2),
    ("lead_captured", "v4", None, T(4, 13), {"source": "newsletter"}),
    (
        "conversion",
        "v4",
        None,
        T(5, 9),
        {"name": "purchase", "value": 30.0, "order_id": "o4", "verified": True},
    ),
    ("conversion", "v4", None, T(5, 10), {"name": "signup", "value": 0.0, "order_id": None}),
    # v5: new, anonymous; complains: Alice (wait 60, first reply 75, resolved
    # after 300, not rated).
    ("page_view", "v5", None, T(5, 9), page("/")),
    ("conversation_started", "v5", 4, T(5, 9), {}),
    ("message_received", "v5", 4, T(5, 9), {"message_id": 5}),
    ("bot_replied", "v5", 4, T(5, 9), {"intent": "greet", "fallback": False}),
    *handoff("v5", 4, 5, "complaint", ALICE, wait=60, first=75, took=300, score=None),
    # v6: outside the range on both sides: counts nowhere.
    ("page_view", "v6", None, datetime(2026, 2, 27, tzinfo=UTC), page("/")),
    ("page_view", "v6", None, END, page("/")),
    ("message_received", "v6", 9, END, {"message_id": 9}),
]

VISITORS = [
    Visitor(id="v1", created_at=datetime(2026, 2, 1, tzinfo=UTC)),
    Visitor(id="v2", created_at=T(2, 10)),
    Visitor(id="v3", created_at=T(3, 8), email="v3@example.com"),
    Visitor(id="v4", created_at=datetime(2026, 1, 15, tzinfo=UTC), external_id="c-4"),
    Visitor(id="v5", created_at=T(5, 9)),
    Visitor(id="v6", created_at=datetime(2026, 2, 27, tzinfo=UTC)),
]


@pytest.fixture
async def analytics(database_url: str) -> AsyncIterator[AnalyticsService]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    sessions: async_sessionmaker[AsyncSession] = create_sessionmaker(engine)
    async with sessions.begin() as session:
        session.add_all(
            [
                Agent(id=ALICE, username="alice", display_name="Alice", password_hash="x"),
                Agent(id=BOB, username="bob", display_name="Bob", password_hash="x"),
            ]
        )
        session.add_all(
            [
                Visitor(
                    id=v.id,
                    created_at=v.created_at,
                    email=v.email,
                    external_id=v.external_id,
                    profile={},
                )
                for v in VISITORS
            ]
        )
        session.add_all(
            [
                InteractionEvent(type=t, visitor_id=v, conversation_id=c, created_at=at, data=d)
                for t, v, c, at, d in LOG
            ]
        )
    yield AnalyticsService(sessions, lambda: 3)
    await engine.dispose()


async def test_kpis(analytics: AnalyticsService) -> None:
    kpis = (await analytics.summary(Window(START, END)))["kpis"]
    assert kpis == {
        "visitors_online": 3,  # what the socket layer reports
        "visitors": 5,  # v1..v5 (v6 only before the range and at its exclusive end)
        "conversations": 4,  # conversations 1, 2, 3, 4
        "engagement_rate": 0.8,  # 4 chatted (v1, v3, v4, v5) / 5
        "widget_opened_no_message": 1,  # v2
        "containment_rate": 0.25,  # only conversation 1 stayed with the bot: 1 / 4
        "handoff_rate": 0.75,  # 3 conversations asked for a person / 4
        "fallback_rate": 0.3333,  # 2 fallbacks / 6 bot replies
        "queue_wait_p50": 60.0,  # waits 30, 60, 90
        "queue_wait_p90": 84.0,  # 60 + (90 - 60) * 0.8
        "first_response_p50": 75.0,  # 45, 75, 120
        "first_response_p90": 111.0,  # 75 + (120 - 75) * 0.8
        "resolution_p50": 600.0,  # 300, 600, 900
        "resolution_p90": 840.0,  # 600 + 300 * 0.8
        "csat_average": 3.0,  # (4 + 2) / 2
        "csat_responses": 2,
        "csat_response_rate": 0.6667,  # 2 ratings / 3 resolved handoffs
        "recommendation_ctr": 0.3333,  # 1 click / 3 impressions
        "leads": 1,
        "conversions": 5,  # v1 100, v2 50 and 1,000 unverified, v4 30 and 0
        "conversions_verified": 3,  # v1, v2's 50, v4's 30
        "revenue": 180.0,  # verified only: 100 + 50 + 30
        "revenue_unverified": 1000.0,  # v2's browser claim, capped; never revenue
        # v1 (chatted 49 h before buying) and v4 (21 h): 2 of the 4 who chatted.
        "conversion_rate_chatted": 0.5,
        "conversion_rate_not_chatted": 1.0,  # v2: 1 of the 1 who did not chat
        "revenue_chatted": 130.0,  # 100 + 30 + 0
        "revenue_not_chatted": 50.0,
    }


async def test_attribution_window(analytics: AnalyticsService) -> None:
    """With one day, v1's purchase 49 h after chatting is no longer the chat's."""
    kpis = (await analytics.summary(Window(START, END, attribution_days=1)))["kpis"]
    assert kpis["conversion_rate_chatted"] == 0.25  # v4 only: 1 / 4
    assert kpis["conversion_rate_not_chatted"] == 1.0  # still v2 of 1 (v1 did chat)
    assert kpis["revenue_chatted"] == 30.0
    assert kpis["revenue_not_chatted"] == 150.0  # 100 + 50
    assert kpis["revenue"] == 180.0


async def test_series_and_funnel(analytics: AnalyticsService) -> None:
    summary = await analytics.summary(Window(START, END))
    assert summary["range"]["bucket"] == "day"
    zero = {
        "visitors": 0,
        "conversations": 0,
        "messages": 0,
        "handoffs": 0,
        "conversions": 0,
        "revenue": 0.0,
        "revenue_unverified": 0.0,
    }
    expected = [
        {**zero, "visitors": 1, "conversations": 1, "messages": 1},  # 1st: v1
        # 2nd: v2, verified 50 and 1,000 unverified
        {**zero, "visitors": 1, "conversions": 2, "revenue": 50.0, "revenue_unverified": 1000.0},
        # 3rd: v3 (two messages, a handoff) and v1's purchase
        {
            **zero,
            "visitors": 1,
            "conversations": 1,
            "messages": 2,
            "handoffs": 1,
            "conversions": 1,
            "revenue": 100.0,
        },
        {**zero, "visitors": 1, "conversations": 1, "messages": 1, "handoffs": 1},  # 4th: v4
        # 5th: v5, and v4's two conversions
        {
            **zero,
            "visitors": 1,
            "conversations": 1,
            "messages": 1,
            "handoffs": 1,
            "conversions": 2,
            "revenue": 30.0,
        },
        zero,
        zero,
    ]
    points = summary["series"]
    assert [datetime.fromisoformat(p["t"]) for p in points] == [T(d) for d in range(1, 8)]
    assert [{k: v for k, v in p.items() if k != "t"} for p in points] == expected
    # visit 5 -> chat 4 -> clicked a card (v1) -> bought (v1)
    assert summary["funnel"] == [
        {"step": "visit", "visitors": 5},
        {"step": "chat", "visitors": 4},
        {"step": "recommendation_click", "visitors": 1},
        {"step": "conversion", "visitors": 1},
    ]


async def test_a_short_range_is_hourly(analytics: AnalyticsService) -> None:
    summary = await analytics.summary(Window(T(3), T(4)))
    points = {p["t"]: p for p in summary["series"]}
    assert summary["range"]["bucket"] == "hour" and len(points) == 24
    assert points[T(3, 8).isoformat()]["messages"] == 1
    assert points[T(3, 9).isoformat()]["messages"] == 1
    assert points[T(3, 9).isoformat()]["handoffs"] == 1
    assert points[T(3, 12).isoformat()]["revenue"] == 100.0


async def table(analytics: AnalyticsService, name: str, **window: Any) -> list[dict[str, Any]]:
    columns, rows = await analytics.table(name, Window(START, END, **window))
    return [dict(zip(columns, row, strict=True)) for row in rows]


async def test_breakdown_tables(analytics: AnalyticsService) -> None:
    assert await table(analytics, "handoff_reasons") == [  # each 1 of 4 conversations
        {"reason": "complaint", "handoffs": 1, "rate": 0.25},
        {"reason": "fallback", "handoffs": 1, "rate": 0.25},
        {"reason": "requested", "handoffs": 1, "rate": 0.25},
    ]
    assert await table(analytics, "intents") == [  # of 6 replies
        {"intent": "greet", "messages": 2, "share": 0.3333},
        {"intent": "nlu_fallback", "messages": 2, "share": 0.3333},
        {"intent": "ask_price", "messages": 1, "share": 0.1667},
        {"intent": "find_product", "messages": 1, "share": 0.1667},
    ]
    assert await table(analytics, "unrecognised") == [{"text": "blorp", "times": 2}]
    assert await table(analytics, "agents") == [
        # Alice: waits 30, 60; first replies 45, 75 (p90 45 + 30 * 0.9);
        # resolved after 600 and 300; one rating, 4.
        {
            "agent_id": ALICE,
            "agent": "Alice",
            "handoffs_taken": 2,
            "first_response_p50": 60.0,
            "first_response_p90": 72.0,
            "resolved": 2,
            "resolution_p50": 450.0,
            "csat_average": 4.0,
            "csat_responses": 1,
        },
        {
            "agent_id": BOB,
            "agent": "Bob",
            "handoffs_taken": 1,
            "first_response_p50": 120.0,
            "first_response_p90": 120.0,
            "resolved": 1,
            "resolution_p50": 900.0,
            "csat_average": 2.0,
            "csat_responses": 1,
        },
    ]
    assert await table(analytics, "csat") == [
        {"score": 1, "ratings": 0, "share": 0.0},
        {"score": 2, "ratings": 1, "share": 0.5},
        {"score": 3, "ratings": 0, "share": 0.0},
        {"score": 4, "ratings": 1, "share": 0.5},
        {"score": 5, "ratings": 0, "share": 0.0},
    ]
    assert await table(analytics, "products") == [
        {"product_id": "p1", "category": "tents", "impressions": 1, "clicks": 1, "ctr": 1.0},
        {"product_id": "p2", "category": "tents", "impressions": 1, "clicks": 0, "ctr": 0.0},
        {"product_id": "p3", "category": "boots", "impressions": 1, "clicks": 0, "ctr": 0.0},
    ]
    assert await table(analytics, "categories") == [
        {"category": "tents", "impressions": 2, "clicks": 1, "ctr": 0.5},
        {"category": "boots", "impressions": 1, "clicks": 0, "ctr": 0.0},
    ]
    assert await table(analytics, "utm_sources") == [
        # v1 and v4 (both chatted): 100 + 30 + 0; v2: 50, and 1,000 unverified
        {
            "source": "newsletter",
            "visitors": 2,
            "chatted": 2,
            "conversions": 3,
            "revenue": 130.0,
            "revenue_unverified": 0.0,
        },
        {
            "source": "google",
            "visitors": 1,
            "chatted": 0,
            "conversions": 2,
            "revenue": 50.0,
            "revenue_unverified": 1000.0,
        },
    ]
    assert await table(analytics, "pages") == [
        {"path": "/", "views": 3, "visitors": 3, "avg_seconds": None},
        {"path": "/products/jackets", "views": 1, "visitors": 1, "avg_seconds": None},
        {"path": "/products/tents", "views": 1, "visitors": 1, "avg_seconds": 30.0},
        {"path": "/sale", "views": 1, "visitors": 1, "avg_seconds": None},
    ]


@pytest.mark.parametrize(
    ("window", "visitors", "conversations", "engagement"),
    [
        ({"segment": "new"}, 3, 2, 0.6667),  # v2, v3, v5; v3 and v5 chatted
        ({"segment": "returning"}, 2, 2, 1.0),  # v1, v4
        ({"segment": "identified"}, 2, 2, 1.0),  # v3 (e-mail), v4 (external id)
        ({"segment": "anonymous"}, 3, 2, 0.6667),  # v1, v2, v5
        ({"utm_source": "newsletter"}, 2, 2, 1.0),  # v1, v4
        ({"page": "/products"}, 2, 2, 1.0),  # v1 (tents), v4 (jackets)
        ({"page": "/nowhere"}, 0, 0, None),
    ],
)
async def test_segments_and_filters(
    analytics: AnalyticsService,
    window: dict[str, Any],
    visitors: int,
    conversations: int,
    engagement: float | None,
) -> None:
    kpis = (await analytics.summary(Window(START, END, **window)))["kpis"]
    assert (kpis["visitors"], kpis["conversations"], kpis["engagement_rate"]) == (
        visitors,
        conversations,
        engagement,
    )
