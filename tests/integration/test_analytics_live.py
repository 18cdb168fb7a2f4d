"""The handoff figures of a real chat server (in-process, SQLite and
PostgreSQL; Rasa absent, so every message is handed to a person when one is
online): the dashboard's numbers equal those worked out from the event log
the server wrote (docs/analytics.md, "Definitions")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from chat_server.services.analytics.stats import percentile
from tests.integration.conftest import ADMIN_TOKEN, base, new_agent
from tests.integration.helpers import events_of
from tests.support.visitor import Visitor


async def admin_get(srv: TestServer, path: str) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.get(base(srv) + path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return await resp.json()


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def seconds(start: datetime, end: datetime) -> float:
    return round((utc(end) - utc(start)).total_seconds(), 3)


async def test_a_second_handoff_is_timed_and_asking_with_nobody_online_is_not_contained(
    server: TestServer, database_url: str
) -> None:
    # A asks while nobody is online: the bot takes a message instead.
    nobody = Visitor(rapport=True)
    await nobody.connect(base(server))
    alex = None
    twice = Visitor(rapport=True)
    try:
        await nobody.say("hello?")
        alex = await new_agent(server, "Alex")
        await alex.connect()
        # B is handed to Alex, handed back to the bot, then handed over again.
        await twice.connect(base(server))
        await twice.say("hello, anyone there?")
        cid = (await alex.wait_for("assignment"))["conversation"]["id"]
        await alex.ok("POST", f"/api/conversations/{cid}/messages", {"text": "Alex here."})
        await alex.ok("POST", f"/api/conversations/{cid}/handback")
        await twice.wait_for("handoff_status", lambda s: s["state"] == "bot")
        mark = len(alex.log)
        await twice.say("one more question")
        await alex.wait_for("assignment", after=mark)
        await alex.ok("POST", f"/api/conversations/{cid}/messages", {"text": "Yes?"})
        await alex.ok("POST", f"/api/conversations/{cid}/resolve")
    finally:
        if alex is not None:
            await alex.close()
        await nobody.close()
        await twice.close()

    # By hand, from the log the server wrote for B.
    log = await events_of(database_url, twice.visitor_id)
    queued = [
        e.created_at for e in log if e.type == "handoff_transition" and e.data["to"] == "queued"
    ]
    replies = [e.created_at for e in log if e.type == "agent_message"]
    [resolved] = [
        e.created_at for e in log if e.type == "handoff_transition" and e.data["to"] == "resolved"
    ]
    assert len(queued) == 2 and len(replies) == 2
    firsts = [seconds(queued[0], replies[0]), seconds(queued[1], replies[1])]

    kpis = (await admin_get(server, "/api/analytics/summary"))["kpis"]
    assert kpis["conversations"] == 2
    assert kpis["handoff_rate"] == 1.0  # both conversations asked; B twice, still one
    assert kpis["containment_rate"] == 0.0  # A asked, although nobody was there
    # Both of B's handoffs have a first response; the resolution starts at the second.
    assert kpis["first_response_p50"] == percentile(firsts, 50)
    assert kpis["first_response_p90"] == percentile(firsts, 90)
    assert kpis["resolution_p50"] == seconds(queued[1], resolved)

    table = await admin_get(server, "/api/analytics/tables/agents")
    rows = [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]
    assert [(r["agent"], r["handoffs_taken"], r["resolved"]) for r in rows] == [("Alex", 2, 1)]
    assert rows[0]["first_response_p50"] == percentile(firsts, 50)
