"""Segments over REST on an in-process server (SQLite; PostgreSQL in make test).

Round trip (create, list, get with count, change, preview, archive), the
400s with clear messages, the role checks (agents 403, no login 401, no CSRF
403), archiving refused while a campaign uses the segment, and values that
look like SQL counted as plain values (bound parameters).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from chat_server.db.engagement_models import Campaign, VisitorTag, VisitorTraits
from chat_server.db.models import InteractionEvent, utcnow
from chat_server.http.keys import SERVICES
from tests.integration.conftest import ADMIN_TOKEN, base
from tests.support.agents import AgentClient, create_agent

MOBILE_NEWSLETTER = {
    "match": "all",
    "conditions": [
        {"field": "device", "op": "eq", "value": "mobile"},
        {"field": "last_source", "op": "eq", "value": "newsletter"},
    ],
}


@pytest.fixture
async def db(server: TestServer) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(server.settings.database_url)  # type: ignore[attr-defined]
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {"visitor_id": "m1", "device": "mobile", "last_source": "newsletter", "visits": 3},
        {"visitor_id": "m2", "device": "mobile", "last_source": "newsletter", "visits": 1},
        {"visitor_id": "m3", "device": "mobile", "last_source": "google", "visits": 2},
        {"visitor_id": "d1", "device": "desktop", "last_source": "newsletter", "visits": 5},
    ]
    async with engine.begin() as conn:
        await conn.execute(
            insert(VisitorTraits),
            [
                {
                    **r,
                    "first_seen_at": now - timedelta(days=3),
                    "last_seen_at": now,
                    "visit_started_at": now,
                }
                for r in rows
            ],
        )
        await conn.execute(
            insert(VisitorTag), [{"visitor_id": "m1", "kind": "interest", "value": "shoes"}]
        )
    yield engine
    await engine.dispose()


async def login(server: TestServer, role: str) -> AgentClient:
    async with aiohttp.ClientSession() as http:
        data = await create_agent(http, base(server), ADMIN_TOKEN, name=role.title(), role=role)
    return await AgentClient(base(server), data["username"]).login()


async def test_round_trip(server: TestServer, db: AsyncEngine) -> None:
    marketer = await login(server, "marketer")
    try:
        fields = (await marketer.ok("GET", "/api/segments/fields"))["fields"]
        assert {"in_conversation", "interest", "device", "last_seen"} <= {f["name"] for f in fields}
        device = next(f for f in fields if f["name"] == "device")
        assert device["options"] == ["desktop", "mobile", "tablet"]

        assert await marketer.ok(
            "POST", "/api/segments/preview", {"filter": MOBILE_NEWSLETTER}
        ) == {"count": 2}
        status, created = await marketer.call(
            "POST",
            "/api/segments",
            {
                "name": " Mobile newsletter ",
                "description": "from the mail",
                "filter": MOBILE_NEWSLETTER,
            },
        )
        assert status == 201, created
        segment = created["segment"]
        assert segment["name"] == "Mobile newsletter"
        assert segment["created_by"] == marketer.id
        assert segment["filter"] == MOBILE_NEWSLETTER
        sid = segment["id"]

        got = await marketer.ok("GET", f"/api/segments/{sid}")
        assert got["count"] == 2 and got["segment"]["id"] == sid
        listed = await marketer.ok("GET", "/api/segments")
        assert [s["name"] for s in listed["segments"]] == ["Mobile newsletter"]

        returning = {
            "match": "all",
            "conditions": [
                *MOBILE_NEWSLETTER["conditions"],
                {"field": "visits", "op": "gte", "value": 2},
            ],
        }
        changed = await marketer.ok("PATCH", f"/api/segments/{sid}", {"filter": returning})
        assert changed["segment"]["filter"] == returning
        assert (await marketer.ok("GET", f"/api/segments/{sid}"))["count"] == 1

        segments = server.app[SERVICES].segments
        assert await segments.contains(sid, "m1")
        assert not await segments.contains(sid, "m2")
        assert not await segments.contains(sid, "nobody")
        async with db.connect() as conn:
            members = set(await conn.scalars(await segments.members_query(sid)))
        assert members == {"m1"}

        status, body = await marketer.call(
            "POST", "/api/segments", {"name": "Mobile newsletter", "filter": returning}
        )
        assert (status, body["error"]) == (409, "segment_exists")
        assert "Mobile newsletter" in body["message"]

        archived = await marketer.ok("DELETE", f"/api/segments/{sid}")
        assert archived["segment"]["archived_at"] is not None
        assert (await marketer.ok("GET", "/api/segments"))["segments"] == []
        everything = await marketer.ok("GET", "/api/segments?archived=true")
        assert [s["id"] for s in everything["segments"]] == [sid]
        status, body = await marketer.call("PATCH", f"/api/segments/{sid}", {"name": "x"})
        assert (status, body["error"]) == (409, "segment_archived")
        status, body = await marketer.call("GET", "/api/segments/999999")
        assert (status, body["error"]) == (404, "not_found")
    finally:
        await marketer.close()


async def test_a_segment_a_campaign_uses_cannot_be_archived(
    server: TestServer, db: AsyncEngine
) -> None:
    admin = await login(server, "admin")
    try:
        sid = (
            await admin.ok(
                "POST",
                "/api/segments",
                {
                    "name": "Shoes",
                    "filter": {
                        "conditions": [{"field": "interest", "op": "has", "value": "shoes"}]
                    },
                },
            )
        )["segment"]["id"]
        now = utcnow()
        async with db.begin() as conn:
            await conn.execute(
                insert(Campaign).values(
                    name="Spring shoes",
                    status="running",
                    kind="bot",
                    rules={},
                    variants=[],
                    goal={},
                    segment_id=sid,
                    created_at=now,
                    updated_at=now,
                )
            )
        status, body = await admin.call("DELETE", f"/api/segments/{sid}")
        assert (status, body["error"]) == (409, "segment_in_use")
        assert "'Spring shoes'" in body["message"]
        assert (await admin.ok("GET", f"/api/segments/{sid}"))["segment"]["archived_at"] is None
        async with db.begin() as conn:
            await conn.execute(update(Campaign).values(status="archived"))
        assert (await admin.ok("DELETE", f"/api/segments/{sid}"))["segment"]["archived_at"]
    finally:
        await admin.close()


BAD = [
    (
        {"name": "x", "filter": {"conditions": [{"field": "nope", "op": "eq", "value": 1}]}},
        "filter.conditions.0: unknown field 'nope'",
    ),
    (
        {"name": "x", "filter": {"conditions": [{"field": "visits", "op": "eq", "value": "many"}]}},
        "value of visits eq must be a number",
    ),
    (
        {
            "name": "x",
            "filter": {"conditions": [{"field": "last_seen", "op": "within", "value": -3}]},
        },
        "days must be at least 0",
    ),
    (
        {
            "name": "x",
            "filter": {"conditions": [{"field": "visits", "op": "contains", "value": 1}]},
        },
        "operator 'contains' is not allowed for visits (int)",
    ),
    (
        {
            "name": "x",
            "filter": {"conditions": [{"field": "visits", "op": "gte", "value": 1}] * 1000},
        },
        "at most 20 conditions (got 1000)",
    ),
    ({"name": "", "filter": {"conditions": []}}, "name"),
    ({"filter": {"conditions": []}}, "name: Field required"),
]


async def test_bad_segments_get_a_400_naming_the_problem(server: TestServer) -> None:
    marketer = await login(server, "marketer")
    try:
        for body, message in BAD:
            status, answer = await marketer.call("POST", "/api/segments", body)
            assert status == 400, answer
            assert answer["error"] == "invalid"
            assert message in answer["message"], answer["message"]
        assert (await marketer.ok("GET", "/api/segments"))["segments"] == []
    finally:
        await marketer.close()


async def test_a_huge_value_is_refused(server: TestServer) -> None:
    marketer = await login(server, "marketer")
    try:
        huge = {
            "filter": {
                "conditions": [{"field": "last_source", "op": "eq", "value": "x" * 1_000_000}]
            }
        }
        status, answer = await marketer.call("POST", "/api/segments/preview", huge)
        assert status == 413 and answer["error"] == "too_large"
        big = {
            "filter": {"conditions": [{"field": "last_source", "op": "eq", "value": "x" * 50_000}]}
        }
        status, answer = await marketer.call("POST", "/api/segments/preview", big)
        assert status == 400 and "1-100 characters" in answer["message"]
        assert len(answer["message"]) < 500
    finally:
        await marketer.close()


async def test_sql_looking_values_are_bound_parameters(server: TestServer, db: AsyncEngine) -> None:
    marketer = await login(server, "marketer")
    try:
        for hostile in ["x' OR '1'='1", "newsletter'; DROP TABLE visitor_traits; --", "%", "_"]:
            for op, value in [("eq", hostile), ("in", [hostile]), ("starts_with", hostile)]:
                segment = {"conditions": [{"field": "last_source", "op": op, "value": value}]}
                answer = await marketer.ok("POST", "/api/segments/preview", {"filter": segment})
                assert answer == {"count": 0}, (op, value)
        async with db.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(VisitorTraits)) == 4
    finally:
        await marketer.close()


async def test_only_admins_and_marketers(server: TestServer) -> None:
    agent = await login(server, "agent")
    marketer = await login(server, "marketer")
    body: dict[str, Any] = {"name": "x", "filter": {"conditions": []}}
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/api/segments", None),
        ("POST", "/api/segments", body),
        ("GET", "/api/segments/fields", None),
        ("POST", "/api/segments/preview", {"filter": {"conditions": []}}),
    ]
    try:
        for method, path, payload in calls:
            status, answer = await agent.call(method, path, payload)
            assert (status, answer["error"]) == (403, "forbidden"), (method, path)
            assert "admins and marketers" in answer["message"]
        async with aiohttp.ClientSession() as http:
            async with http.get(base(server) + "/api/segments") as resp:
                assert resp.status == 401
            # The operator's token works; a cookie without the CSRF header does not.
            async with http.get(
                base(server) + "/api/segments", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
            ) as resp:
                assert resp.status == 200
        async with marketer.http.post(base(server) + "/api/segments", json=body) as resp:
            assert resp.status == 403 and (await resp.json())["error"] == "csrf"
    finally:
        await agent.close()
        await marketer.close()


async def test_the_dashboard_can_be_restricted_to_a_segment(
    server: TestServer, db: AsyncEngine
) -> None:
    async with db.begin() as conn:
        await conn.execute(
            insert(InteractionEvent),
            [
                {"type": "page_view", "visitor_id": vid, "data": {"url": "http://127.0.0.1/"}}
                for vid in ("m1", "m2", "m3", "d1")
            ],
        )
    marketer = await login(server, "marketer")
    try:
        sid = (
            await marketer.ok(
                "POST", "/api/segments", {"name": "Mobile newsletter", "filter": MOBILE_NEWSLETTER}
            )
        )["segment"]["id"]
        everyone = await marketer.ok("GET", "/api/analytics/summary")
        assert everyone["kpis"]["visitors"] == 4
        segment = await marketer.ok("GET", f"/api/analytics/summary?segment_id={sid}")
        assert segment["kpis"]["visitors"] == 2  # m1 and m2
        status, body = await marketer.call("GET", "/api/analytics/summary?segment_id=999999")
        assert (status, body["error"]) == (404, "not_found")
        status, body = await marketer.call("GET", "/api/analytics/tables/utm_sources?segment_id=0")
        assert status == 400 and "segment_id" in body["message"]
    finally:
        await marketer.close()
