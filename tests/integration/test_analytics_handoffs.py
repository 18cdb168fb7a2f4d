"""The handoff figures on the edge cases of a busy day, seeded by hand; the
expected values are worked out in the comments (docs/analytics.md,
"Definitions"), never by the code under test.

The range is 2026-03-10 (UTC, one day). Nine conversations start in it
(c10..c18); c19 started the evening before and is resolved in the range.
Each conversation has its own hour; ``at(c, s)`` is ``s`` seconds after it.
Runs on SQLite and PostgreSQL.
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

ALICE, BOB, ADA, MARK = 1, 2, 3, 4  # agent, agent, admin, marketer
START, END = datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC)
HOUR = {10: 1, 11: 2, 12: 3, 13: 4, 14: 5, 15: 6, 16: 7, 17: 8, 18: 9}

Row = tuple[str, str, int, datetime, dict[str, Any]]


def at(conversation: int, seconds: float) -> datetime:
    if conversation == 19:  # started at 23:00 the day before
        return datetime(2026, 3, 9, 23, tzinfo=UTC) + timedelta(seconds=seconds)
    return datetime(2026, 3, 10, HOUR[conversation], tzinfo=UTC) + timedelta(seconds=seconds)


def ev(type_: str, c: int, seconds: float, **data: Any) -> Row:
    return (type_, f"v{c}", c, at(c, seconds), data)


def move(
    c: int,
    seconds: float,
    origin: str,
    to: str,
    agent: int | None = None,
    reason: str = "requested",
    **extra: Any,
) -> Row:
    return ev(
        "handoff_transition",
        c,
        seconds,
        **{"from": origin, "to": to, "reason": reason, "agent_id": agent, **extra},
    )


def ask(c: int, seconds: float, available: bool = True) -> Row:
    return ev("handoff_requested", c, seconds, reason="requested", agents_available=available)


def says(c: int, seconds: float, agent: int) -> Row:
    return ev("agent_message", c, seconds, message_id=c * 100 + int(seconds), agent_id=agent)


def start(c: int) -> list[Row]:
    return [ev("conversation_started", c, -60), ev("message_received", c, -60, message_id=c)]


LOG: list[Row] = [
    # c10: asks for a person, nobody is online (the bot offers to take a
    # message). Not contained: the visitor asked, although nobody came.
    *start(10),
    ask(10, 0, available=False),
    # c11: two handoffs. Alice (wait 20, first reply 30) hands back at 100;
    # the bot chats; the visitor asks again at 1000: Bob (wait 40, first reply
    # 100 after the second queue, resolved 300 after it). One conversation
    # asking, two first responses, bot time never in the resolution.
    *start(11),
    ask(11, 0),
    move(11, 0, "bot", "queued"),
    move(11, 20, "queued", "assigned", ALICE),
    says(11, 30, ALICE),
    says(11, 50, ALICE),  # later replies never count as a first one
    move(11, 100, "assigned", "bot", ALICE),
    ask(11, 1000),
    move(11, 1000, "bot", "queued"),
    move(11, 1040, "queued", "assigned", BOB),
    says(11, 1100, BOB),
    says(11, 1200, BOB),
    says(11, 1250, BOB),
    move(11, 1300, "assigned", "resolved", BOB),
    # c12: Alice (wait 10, reply 15) hands back at 60; at 2000 Ada, an admin,
    # barges in (reply after 10) and resolves at 2100: resolution 100, not
    # 2100 (the server's handoff_seconds says 2100: it measures from the old
    # queue time; the figures do not read it).
    *start(12),
    ask(12, 0),
    move(12, 0, "bot", "queued"),
    move(12, 10, "queued", "assigned", ALICE),
    says(12, 15, ALICE),
    says(12, 20, ALICE),
    move(12, 60, "assigned", "bot", ALICE),
    move(12, 2000, "bot", "assigned", ADA, reason="barge_in"),
    says(12, 2010, ADA),
    move(12, 2100, "assigned", "resolved", ADA, handoff_seconds=2100.0),
    # c13: Bob takes it after 30 s and disconnects; requeued at 90; Alice
    # takes it at 150, first reply at 160, resolves at 400. Wait = 30 (to the
    # first assignment); first response 160 and resolution 400, both Alice's.
    *start(13),
    ask(13, 0),
    move(13, 0, "bot", "queued"),
    move(13, 30, "queued", "assigned", BOB),
    move(13, 90, "assigned", "queued", reason="agent_disconnected"),
    move(13, 150, "queued", "assigned", ALICE),
    says(13, 160, ALICE),
    says(13, 300, ALICE),
    move(13, 400, "assigned", "resolved", ALICE),
    # c14: queued, then the last agent leaves: back to the bot at 300.
    *start(14),
    ask(14, 0),
    move(14, 0, "bot", "queued"),
    move(14, 300, "queued", "bot", reason="nobody_online"),
    # c15: queued, the visitor left; still queued when the range ends.
    *start(15),
    ask(15, 0),
    move(15, 0, "bot", "queued"),
    # c16: the bot answers; nobody asks for a person: the one contained.
    *start(16),
    ev("bot_replied", 16, -59, intent="greet", fallback=False),
    # c17: Alice (wait 5, reply 10) transfers to Mark, a marketer, who
    # resolves after 50. Mark is in no agent row.
    *start(17),
    ask(17, 0),
    move(17, 0, "bot", "queued"),
    move(17, 5, "queued", "assigned", ALICE),
    says(17, 10, ALICE),
    move(17, 20, "assigned", "assigned", MARK, reason="transfer"),
    move(17, 50, "assigned", "resolved", MARK, handoff_seconds=50.0),
    ev("csat", 17, 80, score=5, comment=False, agent_id=MARK),
    # c18: nobody asks; Bob barges in at 100, replies at 105, resolves at 200.
    # Not contained (a person took over), not a handoff request.
    *start(18),
    move(18, 100, "bot", "assigned", BOB, reason="barge_in"),
    says(18, 105, BOB),
    move(18, 200, "assigned", "resolved", BOB),
    # c19: queued at 23:00 the day before, Alice assigned at 23:30 (wait
    # outside the range), first reply at 3700 s and resolved at 4000 s, both
    # on the 10th: timed from the real handoff, not from midnight.
    *start(19),
    ask(19, 0),
    move(19, 0, "bot", "queued"),
    move(19, 1800, "queued", "assigned", ALICE),
    says(19, 3700, ALICE),
    says(19, 3800, ALICE),
    move(19, 4000, "assigned", "resolved", ALICE),
]


@pytest.fixture
async def analytics(database_url: str) -> AsyncIterator[AnalyticsService]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    sessions: async_sessionmaker[AsyncSession] = create_sessionmaker(engine)
    people = [
        (ALICE, "alice", "Alice", "agent"),
        (BOB, "bob", "Bob", "agent"),
        (ADA, "ada", "Ada", "admin"),
        (MARK, "mark", "Mark", "marketer"),
    ]
    async with sessions.begin() as session:
        session.add_all(
            [
                Agent(id=i, username=u, display_name=n, role=r, password_hash="x")
                for i, u, n, r in people
            ]
        )
        session.add_all(
            [Visitor(id=f"v{c}", created_at=at(c, -120), profile={}) for c in range(10, 20)]
        )
        session.add_all(
            [
                InteractionEvent(type=t, visitor_id=v, conversation_id=c, created_at=when, data=d)
                for t, v, c, when, d in LOG
            ]
        )
    yield AnalyticsService(sessions, lambda: 0)
    await engine.dispose()


async def test_handoff_kpis(analytics: AnalyticsService) -> None:
    kpis = (await analytics.summary(Window(START, END)))["kpis"]
    assert {k: kpis[k] for k in EXPECTED} == EXPECTED


EXPECTED = {
    "conversations": 9,  # c10..c18
    # c16 only: c10 asked (nobody came), c18 was taken by an agent: 1 / 9
    "containment_rate": 0.1111,
    # c10, c11 (twice: one conversation), c12, c13, c14, c15, c17: 7 / 9
    "handoff_rate": 0.7778,
    # to the first assignment of each queued handoff: c17 5, c12 10, c11 20
    # and 40, c13 30 (c19's was the day before; barge-ins never queue)
    "queue_wait_p50": 20.0,
    "queue_wait_p90": 36.0,  # 30 + (40 - 30) * 0.6
    # per handoff: 5 (c18), 10 (c12 Ada), 10 (c17), 15, 30, 100 (c11's
    # second), 160 (c13), 3700 (c19)
    "first_response_p50": 22.5,  # 15 + (30 - 15) * 0.5
    "first_response_p90": 1222.0,  # 160 + (3700 - 160) * 0.3
    # from each handoff to resolved: 50 (c17), 100 (c12's barge-in), 100
    # (c18), 300 (c11's second), 400 (c13), 4000 (c19)
    "resolution_p50": 200.0,  # 100 + (300 - 100) * 0.5
    "resolution_p90": 2200.0,  # 400 + (4000 - 400) * 0.5
    "csat_responses": 1,  # Mark's chat was rated (a figure of the conversation)
    "csat_response_rate": 0.1667,  # 1 rating / 6 resolved handoffs
}


async def test_the_agent_table_lists_people_who_take_chats(
    analytics: AnalyticsService,
) -> None:
    columns, rows = await analytics.table("agents", Window(START, END))
    assert [dict(zip(columns, row, strict=True)) for row in rows] == [
        # assigned in c11, c12, c13 (after Bob), c17 (c19's was the day
        # before); first replies 10, 15, 30, 160, 3700; resolved c13 (400)
        # and c19 (4000).
        {
            "agent_id": ALICE,
            "agent": "Alice",
            "handoffs_taken": 4,
            "first_response_p50": 30.0,
            "first_response_p90": 2284.0,  # 160 + 3540 * 0.6
            "resolved": 2,
            "resolution_p50": 2200.0,
            "csat_average": None,
            "csat_responses": 0,
        },
        # c11's second handoff, c13 (then disconnected), c18's barge-in;
        # first replies 100 and 5; resolved c11 (300) and c18 (100).
        {
            "agent_id": BOB,
            "agent": "Bob",
            "handoffs_taken": 3,
            "first_response_p50": 52.5,
            "first_response_p90": 90.5,  # 5 + 95 * 0.9
            "resolved": 2,
            "resolution_p50": 200.0,
            "csat_average": None,
            "csat_responses": 0,
        },
        # an admin who took a chat (c12's barge-in: reply 10, resolved 100)
        {
            "agent_id": ADA,
            "agent": "Ada",
            "handoffs_taken": 1,
            "first_response_p50": 10.0,
            "first_response_p90": 10.0,
            "resolved": 1,
            "resolution_p50": 100.0,
            "csat_average": None,
            "csat_responses": 0,
        },
        # never Mark, the marketer
    ]


async def test_handoff_reasons_count_conversations(analytics: AnalyticsService) -> None:
    columns, rows = await analytics.table("handoff_reasons", Window(START, END))
    # c11 asked twice: still one conversation of the 7 that asked, of 9.
    assert [dict(zip(columns, row, strict=True)) for row in rows] == [
        {"reason": "requested", "handoffs": 7, "rate": 0.7778},
    ]


async def test_a_range_ending_before_the_handoff_ends(analytics: AnalyticsService) -> None:
    """Up to 02:58 on the 10th: c19's reply and resolution (00:01:40,
    00:06:40) and c11's (02:xx) are in; nothing later is."""
    kpis = (await analytics.summary(Window(START, at(12, -120))))["kpis"]
    assert kpis["conversations"] == 2  # c10, c11
    assert kpis["handoff_rate"] == 1.0
    assert kpis["containment_rate"] == 0.0
    # c19 3700; c11 30 and 100
    assert (kpis["first_response_p50"], kpis["first_response_p90"]) == (100.0, 2980.0)
    # c11 300, c19 4000
    assert (kpis["resolution_p50"], kpis["resolution_p90"]) == (2150.0, 3630.0)
