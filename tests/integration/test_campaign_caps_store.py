"""Campaign caps across two tabs and two nodes: compare-and-set on engagement_state.

Each "node" is an engine of its own on the same database (SQLite file or a
real PostgreSQL database), as two chat-server processes would have.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from chat_server.db.engagement_models import EngagementState
from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.migrate import upgrade_to_head
from chat_server.services.campaigns.manners import Caps, MannersState, VisitorNow, decide
from chat_server.services.campaigns.store import MannersStore

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
VISITOR = VisitorNow(visit_started_at=NOW - timedelta(minutes=5))
CAPS = Caps(per_visit=1, per_week=3, dismiss_cooldown_minutes=30)


@dataclass(frozen=True)
class Camp:
    id: int
    priority: int = 0
    per_visitor_cap: int = 5
    cooldown_hours: int = 72


async def test_two_writers_of_one_version_one_wins(database_url: str) -> None:
    engine_a, engine_b = create_engine(database_url), create_engine(database_url)
    try:
        await upgrade_to_head(engine_a)
        a, b = (
            MannersStore(create_sessionmaker(engine_a)),
            MannersStore(create_sessionmaker(engine_b)),
        )
        # Both read "no row yet" and both try to create it: the primary key lets one in.
        seen_a, seen_b = await a.load("u1"), await b.load("u1")
        first_a = decide(seen_a, Camp(1), NOW, CAPS, VISITOR)
        first_b = decide(seen_b, Camp(2), NOW, CAPS, VISITOR)
        assert first_a.allowed and first_b.allowed  # each alone would pass the cap
        results = await asyncio.gather(
            a.compare_and_set("u1", seen_a, first_a.new_state),
            b.compare_and_set("u1", seen_b, first_b.new_state),
        )
        assert sorted(results) == [False, True]
        stored = await a.load("u1")
        assert stored.version == 1 and len(stored.shown) == 1
        # Both read version 1 and both update: the WHERE version = 1 lets one in.
        later = NOW + timedelta(days=1)
        visitor = VisitorNow(visit_started_at=later)
        seen_a, seen_b = await a.load("u1"), await b.load("u1")
        next_a = decide(seen_a, Camp(3), later, CAPS, visitor).new_state
        next_b = decide(seen_b, Camp(4), later, CAPS, visitor).new_state
        results = await asyncio.gather(
            a.compare_and_set("u1", seen_a, next_a), b.compare_and_set("u1", seen_b, next_b)
        )
        assert sorted(results) == [False, True]
        final = await b.load("u1")
        assert final.version == 2 and len(final.shown) == 2
    finally:
        await engine_a.dispose()
        await engine_b.dispose()


async def test_tabs_on_two_nodes_never_pass_the_visit_cap_together(database_url: str) -> None:
    engine_a, engine_b = create_engine(database_url), create_engine(database_url)
    try:
        await upgrade_to_head(engine_a)
        nodes = [MannersStore(create_sessionmaker(e)) for e in (engine_a, engine_b)]
        units = [f"visitor-{i}" for i in range(15)]

        async def tab(node: MannersStore, unit: str, campaign: int) -> bool:
            return (await node.try_show(unit, Camp(campaign), NOW, CAPS, VISITOR)).allowed

        # Each visitor has two tabs, one on each node, each wanting a different campaign.
        shown = await asyncio.gather(
            *(tab(nodes[k], unit, 10 + k) for unit in units for k in (0, 1))
        )
        per_unit = [shown[2 * i] + shown[2 * i + 1] for i in range(len(units))]
        assert per_unit == [1] * len(units)
        async with create_sessionmaker(engine_a)() as session:
            rows = await session.scalar(select(func.count()).select_from(EngagementState))
        assert rows == len(units)
        for unit in units:
            state = await nodes[1].load(unit)
            assert len(state.shown) == 1
    finally:
        await engine_a.dispose()
        await engine_b.dispose()


async def test_state_survives_a_restart_and_dismiss_is_remembered(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_to_head(engine)
        store = MannersStore(create_sessionmaker(engine))
        assert (await store.try_show("cust-7", Camp(1), NOW, CAPS, VISITOR)).allowed
        await store.record_dismiss("cust-7", 1, NOW + timedelta(minutes=1))
    finally:
        await engine.dispose()
    engine = create_engine(database_url)  # "the server restarted"
    try:
        store = MannersStore(create_sessionmaker(engine))
        state = await store.load("cust-7")
        assert state.version == 2
        assert state.dismissed == {1: NOW + timedelta(minutes=1)}
        next_visit = VisitorNow(visit_started_at=NOW + timedelta(hours=2))
        again = await store.try_show("cust-7", Camp(1), NOW + timedelta(hours=2), CAPS, next_visit)
        assert (again.allowed, again.reason) == (False, "campaign_cooldown")
        other = await store.try_show("cust-7", Camp(2), NOW + timedelta(hours=2), CAPS, next_visit)
        assert other.allowed
        assert await store.load("nobody") == MannersState()
    finally:
        await engine.dispose()
