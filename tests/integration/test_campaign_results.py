"""Goals credited to a campaign's arms, and the results page's numbers.

Real in-process chat server (SQLite and PostgreSQL), real socket.io clients:
the exposure goes through the engine, the conversion through `track`; the
results fixture is rows written straight into the tables the engine writes,
with the numbers worked out by hand below.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.engagement_models import CampaignAssignment
from chat_server.db.models import Conversation, InteractionEvent, Visitor, utcnow
from tests.integration.conftest import ADMIN_TOKEN, base
from tests.integration.test_campaign_engine import PRODUCT, rapport_visitor, settle, watch
from tests.support.campaigns import add_campaign, campaign_events

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PURCHASE_GOAL = {"type": "conversion", "name": "purchase", "window_hours": 24}


async def expose(server: TestServer, database_url: str, campaign_id: int) -> Any:
    visitor = await rapport_visitor(server)
    token = (await watch(visitor))["token"]
    await visitor.sio.emit(
        "campaign_ready", {"campaign_id": campaign_id, "token": token, "url": PRODUCT}
    )
    await visitor.wait_for("campaign_shown", timeout=10)
    return visitor


async def track(visitor: Any, order_id: str) -> dict[str, Any]:
    ack: dict[str, Any] = await visitor.sio.call(
        "track", {"name": "purchase", "properties": {"value": 10, "order_id": order_id}}
    )
    return ack


async def test_a_conversion_is_credited_to_the_arm_within_the_window_only(
    server: TestServer, database_url: str
) -> None:
    campaign_id = await add_campaign(database_url, goal=PURCHASE_GOAL)
    inside = await expose(server, database_url, campaign_id)
    late = await expose(server, database_url, campaign_id)
    try:
        # The late visitor's first exposure was 25 hours ago: outside the 24 h window.
        engine = create_async_engine(database_url)
        async with engine.begin() as conn:
            await conn.execute(
                update(CampaignAssignment)
                .where(CampaignAssignment.unit == late.visitor_id)
                .values(first_exposed_at=utcnow() - timedelta(hours=25))
            )
        await engine.dispose()
        assert (await track(inside, "order-1"))["ok"]
        assert (await track(inside, "order-2"))["ok"]  # a second purchase: credited once
        assert (await track(late, "order-3"))["ok"]
        await settle()
        converted = [
            e for e in await campaign_events(database_url) if e.type == "campaign_converted"
        ]
        assert [(e.visitor_id, e.data["arm"], e.data["goal"]) for e in converted] == [
            (inside.visitor_id, "A", "conversion")
        ]
        assert converted[0].data["campaign_id"] == campaign_id
        assert 0 <= converted[0].data["hours_after_exposure"] < 1
    finally:
        await inside.close()
        await late.close()


async def test_the_first_reply_in_a_campaign_conversation_is_logged_once(
    server: TestServer, database_url: str
) -> None:
    campaign_id = await add_campaign(database_url, goal={"type": "reply", "window_hours": 24})
    visitor = await rapport_visitor(server)
    try:
        # An NPS campaign opens no conversation: give the visitor one the
        # campaign opened (as a bot opener does), then let them write in it.
        engine = create_async_engine(database_url)
        async with engine.begin() as conn:
            await conn.execute(insert(Visitor).values(id=visitor.visitor_id))
            await conn.execute(
                insert(Conversation).values(
                    visitor_id=visitor.visitor_id,
                    state="bot",
                    campaign_id=campaign_id,
                    campaign_arm="A",
                )
            )
        await engine.dispose()
        token = (await watch(visitor))["token"]
        await visitor.sio.emit("campaign_ready", {"campaign_id": campaign_id, "token": token})
        await visitor.wait_for("campaign_shown", timeout=10)
        for text in ("yes please", "and more"):
            await visitor.sio.call(
                "user_uttered", {"message": text, "client_id": f"id-{text[:3]}xx"}
            )
        await settle()
        events = await campaign_events(database_url, visitor.visitor_id)
        replied = [e for e in events if e.type == "campaign_replied"]
        assert [(e.data["campaign_id"], e.data["arm"]) for e in replied] == [(campaign_id, "A")]
        assert [e.data["goal"] for e in events if e.type == "campaign_converted"] == ["reply"]
    finally:
        await visitor.close()


# The fixture: control 10 exposed / 1 converted; A 20 exposed / 5 converted,
# 2 of A's visitors dismissed (dismiss rate 2/20 = 0.1); A's campaign
# conversations rated 5 and 3 (mean 4.0, 2 ratings), one handed to a person.
FIXTURE = {"control": (10, 1), "A": (20, 5)}


async def write_fixture(database_url: str, campaign_id: int) -> None:
    now = utcnow()
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        for arm, (exposed, conversions) in FIXTURE.items():
            for i in range(exposed):
                unit = f"{arm}-{i}"
                await conn.execute(
                    insert(CampaignAssignment).values(
                        campaign_id=campaign_id,
                        unit=unit,
                        arm=arm,
                        assigned_at=now,
                        first_exposed_at=now - timedelta(days=1 if i % 2 else 0),
                        exposures=1,
                    )
                )
                data = {"campaign_id": campaign_id, "version": 1, "arm": arm}
                if i < conversions:
                    await conn.execute(
                        insert(InteractionEvent).values(
                            type="campaign_converted",
                            visitor_id=unit,
                            data={**data, "goal": "conversion"},
                            dedupe_key=f"campaign_converted:{campaign_id}:{unit}",
                        )
                    )
                if arm == "A" and i < 2:
                    await conn.execute(
                        insert(InteractionEvent).values(
                            type="campaign_dismissed", visitor_id=unit, data=data
                        )
                    )
        for i, score in enumerate((5, 3, None)):
            await conn.execute(insert(Visitor).values(id=f"A-{i}"))
            conversation = await conn.execute(
                insert(Conversation).values(
                    visitor_id=f"A-{i}",
                    state="resolved",
                    campaign_id=campaign_id,
                    campaign_arm="A",
                    csat_score=score,
                )
            )
            if score is None:
                await conn.execute(
                    insert(InteractionEvent).values(
                        type="handoff_transition",
                        visitor_id=f"A-{i}",
                        conversation_id=conversation.inserted_primary_key[0],  # type: ignore[index]
                        data={"from": "bot", "to": "queued"},
                    )
                )
    await engine.dispose()


async def test_results_match_the_hand_computed_fixture(
    server: TestServer, database_url: str
) -> None:
    campaign_id = await add_campaign(
        database_url,
        holdout=1 / 3,
        goal={"type": "conversion", "name": "purchase", "window_hours": 24},
    )
    await write_fixture(database_url, campaign_id)
    url = f"{base(server)}/api/campaigns/{campaign_id}/results"
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers=AUTH) as resp:
            assert resp.status == 200
            found = await resp.json()
        async with http.get(url + "?mode=fixed", headers=AUTH) as resp:
            fixed = await resp.json()
        async with http.get(url + ".csv", headers=AUTH) as resp:
            assert resp.status == 200
            rows = list(csv.DictReader(io.StringIO(await resp.text())))
        async with http.get(url + "?mode=bayes", headers=AUTH) as resp:
            assert resp.status == 400
        async with http.get(f"{base(server)}/api/campaigns/999/results", headers=AUTH) as resp:
            assert resp.status == 404
        async with http.get(url) as resp:
            assert resp.status == 401
    arms = {a["key"]: a for a in found["arms"]}
    assert {k: (a["exposed"], a["conversions"]) for k, a in arms.items()} == FIXTURE
    assert arms["A"]["guardrails"] == {
        "dismissed": 2,
        "dismiss_rate": 0.1,
        "csat_mean": 4.0,
        "csat_count": 2,
        "handoffs": 1,
    }
    assert arms["control"]["guardrails"]["dismiss_rate"] == 0.0
    rows_by_arm = {r["key"]: r for r in found["analysis"]["arms"]}
    assert rows_by_arm["control"]["rate"] == 0.1
    assert rows_by_arm["A"]["rate"] == 0.25
    [comparison] = found["analysis"]["comparisons"]
    assert abs(comparison["absolute"]["value"] - 0.15) < 1e-12
    assert abs(comparison["relative"]["value"] - 1.5) < 1e-12
    # 30 exposed units: below the minimum per arm, so no winner yet.
    assert found["analysis"]["decision"] == "not_enough_data"
    assert found["mode"] == "sequential" and fixed["mode"] == "fixed"
    # The sequential interval is wider than the fixed one at the same counts.
    seq_abs, fix_abs = comparison["absolute"], fixed["analysis"]["comparisons"][0]["absolute"]
    assert seq_abs["high"] - seq_abs["low"] > fix_abs["high"] - fix_abs["low"]
    # Two days of cumulative series: half the units were exposed yesterday.
    series = found["series"]
    assert len(series) == 2
    assert series[-1]["arms"]["A"]["exposed"] == 20
    assert series[0]["arms"]["A"]["exposed"] == 10
    assert {r["arm"]: (r["exposed"], r["conversions"]) for r in rows} == {
        "control": ("10", "1"),
        "A": ("20", "5"),
    }


async def test_plan_returns_sample_size_and_duration(server: TestServer) -> None:
    url = f"{base(server)}/api/campaigns/plan"
    body = {"baseline": 0.05, "mde": 0.2, "daily_visitors": 1000}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json=body, headers=AUTH) as resp:
            assert resp.status == 200
            planned = await resp.json()
        async with http.post(url, json={"baseline": 2, "mde": 0.1}, headers=AUTH) as resp:
            assert resp.status == 400
            assert "baseline" in (await resp.json())["message"]
        async with http.post(url, json={"baseline": 0.9, "mde": 0.5}, headers=AUTH) as resp:
            assert resp.status == 200
            impossible = await resp.json()
    assert impossible["feasible"] is False and "100 %" in impossible["message"]
    assert planned["feasible"] is True
    assert planned["per_arm"][0] > 1000
    assert planned["days"] == -(-planned["total"] // 1000)
