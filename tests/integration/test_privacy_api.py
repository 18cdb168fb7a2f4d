"""Export and erase through the authenticated API (tracker rows included)."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.engagement_models import CampaignAssignment
from chat_server.db.models import utcnow
from tests.integration.conftest import ADMIN_TOKEN, base
from tests.integration.helpers import stored_messages
from tests.support.campaigns import add_campaign, known_units, manners_state
from tests.support.visitor import Visitor

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def add_tracker_rows(database_url: str, sender_id: str) -> None:
    """Rows shaped like Rasa's SQLTrackerStore `events` table (Rasa is not running here)."""
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY,"
                " sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL,"
                " timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"
            )
        )
        data = json.dumps({"event": "slot", "name": "name", "value": "Priya"})
        for i, sender in enumerate([sender_id, sender_id, "someone-else"]):
            await conn.execute(
                text(
                    "INSERT INTO events (id, sender_id, type_name, timestamp, data)"
                    " VALUES (:i, :s, 'slot', :t, :d)"
                ),
                {"i": i + 1, "s": sender, "t": float(i), "d": data},
            )
    await engine.dispose()


async def count_tracker_rows(database_url: str, sender_id: str) -> int:
    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender_id}
        )
        n: int = result.scalar_one()
    await engine.dispose()
    return n


async def test_export_then_delete_removes_everything(server: TestServer) -> None:
    db = server.settings.database_url  # type: ignore[attr-defined]
    visitor, other = Visitor(), Visitor()
    await visitor.connect(base(server))
    await other.connect(base(server))
    await visitor.say("my email is priya@example.com")
    await other.say("I stay")
    await add_tracker_rows(db, visitor.visitor_id)
    # A campaign drew an arm for them and remembers what they were shown.
    campaign_id = await add_campaign(db)
    await known_units(db, [visitor.visitor_id, other.visitor_id])
    engine = create_async_engine(db)
    async with engine.begin() as conn:
        for unit in (visitor.visitor_id, other.visitor_id):
            await conn.execute(
                insert(CampaignAssignment).values(
                    campaign_id=campaign_id, unit=unit, arm="A", assigned_at=utcnow()
                )
            )
    await engine.dispose()

    async with aiohttp.ClientSession(headers=AUTH) as http:
        async with http.get(f"{base(server)}/api/visitors/{visitor.visitor_id}/export") as resp:
            assert resp.status == 200
            export = await resp.json()
        assert export["visitor"]["id"] == visitor.visitor_id
        assert export["messages"][0]["text"] == "my email is priya@example.com"
        assert len(export["messages"]) == 2 and len(export["conversations"]) == 1
        kinds = {e["type"] for e in export["interaction_events"]}
        assert kinds >= {"visitor_created", "message_received"}
        assert len(export["tracker_events"]) == 2
        assert export["tracker_events"][0]["event"]["value"] == "Priya"
        assert [a["arm"] for a in export["campaign_assignments"]] == ["A"]
        assert export["campaign_state"]["unit"] == visitor.visitor_id

        async with http.delete(f"{base(server)}/api/visitors/{visitor.visitor_id}") as resp:
            assert resp.status == 200
            deleted = (await resp.json())["deleted"]
        assert deleted["messages"] == 2
        assert deleted["tracker_events"] == 2
        assert deleted["visitors"] == 1
        assert deleted["campaign_assignments"] == 1 and deleted["engagement_state"] == 1

        async with http.get(f"{base(server)}/api/visitors/{visitor.visitor_id}/export") as resp:
            assert resp.status == 404

    assert await stored_messages(db, visitor.visitor_id) == []
    assert await count_tracker_rows(db, visitor.visitor_id) == 0
    assert await count_tracker_rows(db, "someone-else") == 1
    assert (await stored_messages(db, other.visitor_id))[0].text == "I stay"
    assert await manners_state(db, visitor.visitor_id) is None
    assert await manners_state(db, other.visitor_id) is not None
    await visitor.close()
    await other.close()


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": ADMIN_TOKEN}]
)
async def test_api_requires_the_admin_token(server: TestServer, headers: dict[str, str]) -> None:
    visitor = Visitor()
    await visitor.connect(base(server))
    await visitor.say("hi")  # something stored to export
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{base(server)}/api/visitors/{visitor.visitor_id}/export") as resp:
            assert resp.status == 401
        async with http.delete(f"{base(server)}/api/visitors/{visitor.visitor_id}") as resp:
            assert resp.status == 401
    export_url = f"{base(server)}/api/visitors/{visitor.visitor_id}/export"
    async with aiohttp.ClientSession(headers=AUTH) as http, http.get(export_url) as resp:
        assert resp.status == 200  # still there
    await visitor.close()


async def test_malformed_and_unknown_ids(server: TestServer) -> None:
    async with aiohttp.ClientSession(headers=AUTH) as http:
        async with http.get(f"{base(server)}/api/visitors/..%2Fetc/export") as resp:
            assert resp.status in (400, 404)
        async with http.get(f"{base(server)}/api/visitors/not-a-visitor/export") as resp:
            assert resp.status == 400
        async with http.delete(f"{base(server)}/api/visitors/{'a' * 32}") as resp:
            assert resp.status == 404


async def test_a_socket_open_through_its_erasure_can_still_write(server: TestServer) -> None:
    """The transport checks a visitor's row once per socket; erased meanwhile
    (the admin API), the next message has a row again instead of failing."""
    db = server.settings.database_url  # type: ignore[attr-defined]
    visitor = Visitor()
    await visitor.connect(base(server))
    await visitor.say("first, before the erasure")
    async with (
        aiohttp.ClientSession(headers=AUTH) as http,
        http.delete(f"{base(server)}/api/visitors/{visitor.visitor_id}") as resp,
    ):
        assert resp.status == 200
    assert await stored_messages(db, visitor.visitor_id) == []
    ack = await visitor.send_reliably("after the erasure", "after-erasure-1", deadline=20)
    assert ack["ok"], ack
    assert [m.text for m in await stored_messages(db, visitor.visitor_id)][:1] == [
        "after the erasure"
    ]
    await visitor.close()
