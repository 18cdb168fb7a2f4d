"""Caps hold across chat-server nodes: one visitor's tabs on two nodes fire the
same campaign at the same moment, and one opener is shown.

Two real in-process nodes on one real PostgreSQL database (the manners
state's compare-and-set is in the database, so this is what decides), and the
same on the scale-out cluster (two node processes, Redis, two Rasa processes).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from dev.devstack import Stack
from tests.integration.conftest import base, start_server
from tests.support.campaigns import add_campaign, assignments, campaign_events, known_units
from tests.support.databases import PostgresDatabase
from tests.support.visitor import Visitor

PRODUCT = "http://127.0.0.1/products/7"
VISITORS = 6


async def tabs_on_two_nodes(url_a: str, url_b: str) -> tuple[Visitor, Visitor]:
    first = Visitor(rapport=True)
    await first.connect(url_a)
    second = Visitor(rapport=True)
    await second.connect(url_b, session_id=first.session_id)
    assert second.visitor_id == first.visitor_id
    return first, second


async def fire_from_both(first: Visitor, second: Visitor, campaign_id: int) -> None:
    tokens = []
    for tab in (first, second):
        await tab.sio.emit("page_view", {"url": PRODUCT})
        tokens.append((await tab.wait_for("campaign_watch", timeout=15))["token"])
    await asyncio.gather(
        *(
            tab.sio.emit("campaign_ready", {"campaign_id": campaign_id, "token": token})
            for tab, token in zip((first, second), tokens, strict=True)
        )
    )


async def one_exposure_each(database_url: str, visitors: list[str]) -> None:
    for _ in range(100):
        exposed = [e.visitor_id for e in await campaign_events(database_url)]
        if set(exposed) >= set(visitors):
            break
        await asyncio.sleep(0.1)
    events = await campaign_events(database_url)
    for visitor_id in visitors:
        mine = [e.type for e in events if e.visitor_id == visitor_id]
        assert mine.count("campaign_exposed") == 1, mine
        assert mine.count("campaign_shown") == 1, mine
    rows = await assignments(database_url)
    assert sorted(r.unit for r in rows) == sorted(visitors)
    assert all(r.exposures == 1 for r in rows)


@pytest.mark.postgres
async def test_two_tabs_on_two_nodes_show_one_opener() -> None:
    async with PostgresDatabase() as database_url:
        node_a: TestServer = await start_server(database_url)
        node_b: TestServer = await start_server(database_url)
        pairs: list[tuple[Visitor, Visitor]] = []
        try:
            campaign_id = await add_campaign(database_url)
            for _ in range(VISITORS):
                pairs.append(await tabs_on_two_nodes(base(node_a), base(node_b)))
            await known_units(database_url, [a.visitor_id for a, _ in pairs])
            await asyncio.gather(*(fire_from_both(a, b, campaign_id) for a, b in pairs))
            await one_exposure_each(database_url, [a.visitor_id for a, _ in pairs])
        finally:
            for a, b in pairs:
                await a.close()
                await b.close()
            await node_a.close()
            await node_b.close()


@pytest.mark.stack
@pytest.mark.postgres
async def test_caps_hold_across_the_scale_out_cluster(cluster: Stack) -> None:
    database_url = cluster.config.database_url
    node_a, node_b = cluster.config.chat_urls[:2]
    campaign_id = await add_campaign(database_url, name="cluster caps", priority=1000)
    pairs: list[tuple[Visitor, Visitor]] = []
    try:
        for _ in range(VISITORS):
            pairs.append(await tabs_on_two_nodes(node_a, node_b))
        await known_units(database_url, [a.visitor_id for a, _ in pairs])
        await asyncio.gather(*(fire_from_both(a, b, campaign_id) for a, b in pairs))
        visitors = [a.visitor_id for a, _ in pairs]
        events: list[Any] = []
        for _ in range(100):
            events = [
                e
                for e in await campaign_events(database_url)
                if e.visitor_id in visitors and e.type == "campaign_exposed"
            ]
            if len({e.visitor_id for e in events}) == len(visitors):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)  # a second exposure, if any, would be in by now
        events = [
            e
            for e in await campaign_events(database_url)
            if e.visitor_id in visitors and e.type == "campaign_exposed"
        ]
        assert sorted(e.visitor_id for e in events) == sorted(visitors)
        # Both tabs hear of the one opener, wherever they are connected (Redis fan-out).
        for a, b in pairs:
            await a.wait_for("campaign_shown", timeout=10)
            await b.wait_for("campaign_shown", timeout=10)
            assert len(a.seen("campaign_shown")) == len(b.seen("campaign_shown")) == 1
    finally:
        for a, b in pairs:
            await a.close()
            await b.close()
