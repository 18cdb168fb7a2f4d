"""/api/campaigns: round trips, lifecycle and versions, and every bad input refused
with a clear message and nothing stored (the table is read after each refusal).

An in-process chat server on SQLite and on PostgreSQL; agents are real accounts.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.engagement_models import Campaign, Segment
from chat_server.db.models import InteractionEvent
from tests.integration.conftest import ADMIN_TOKEN, base, start_server
from tests.support.agents import AgentClient, create_agent


def good(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Sizes help",
        "kind": "bot",
        "priority": 3,
        "rules": {"url_include": ["/products/**"], "active_seconds": 15, "devices": ["desktop"]},
        "variants": [
            {"key": "A", "weight": 0.5, "content": {"text": "Need help with sizes?"}},
            {"key": "B", "weight": 0.5, "content": {"text": "Free returns!", "products": True}},
        ],
        "holdout": 0.1,
        "goal": {"type": "conversion", "name": "purchase", "window_hours": 48},
    }
    body.update(over)
    return body


def rules(**over: Any) -> dict[str, Any]:
    return {**good()["rules"], **over}


class Db:
    def __init__(self, url: str) -> None:
        self.engine = create_async_engine(url)

    async def count(self, model: Any) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())

    async def campaign(self, campaign_id: int) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(select(Campaign).where(Campaign.id == campaign_id))).first()

    async def changes(self) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(InteractionEvent.data)
                .where(InteractionEvent.type == "campaign_changed")
                .order_by(InteractionEvent.id)
            )
            return [r[0] for r in rows]

    async def segment(self, name: str, archived: bool = False) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                insert(Segment)
                .values(
                    name=name,
                    filter={"all": []},
                    created_at=datetime.now(UTC),
                    updated_at=datetime.now(UTC),
                    archived_at=datetime.now(UTC) if archived else None,
                )
                .returning(Segment.id)
            )
            return int(result.scalar_one())


async def login(server: TestServer, role: str) -> AgentClient:
    async with aiohttp.ClientSession() as http:
        data = await create_agent(http, base(server), ADMIN_TOKEN, name=role.title(), role=role)
    return await AgentClient(base(server), data["username"]).login()


@pytest.fixture
async def marketer(server: TestServer) -> AsyncIterator[AgentClient]:
    client = await login(server, "marketer")
    yield client
    await client.close()


@pytest.fixture
async def db(server: TestServer) -> AsyncIterator[Db]:
    handle = Db(server.settings.database_url)  # type: ignore[attr-defined]
    yield handle
    await handle.engine.dispose()


async def test_round_trip_lifecycle_and_audit(marketer: AgentClient, db: Db) -> None:
    m = marketer
    created = (await m.ok("POST", "/api/campaigns", good()))["campaign"]
    cid = created["id"]
    assert created["status"] == "draft" and created["version"] == 1
    assert created["rules"]["url_include"] == ["/products/**"]
    assert created["created_by"] == m.id
    got = (await m.ok("GET", f"/api/campaigns/{cid}"))["campaign"]
    assert got == created
    # A draft may change anything, the allocation too.
    variants = copy.deepcopy(good()["variants"])
    variants[0]["weight"], variants[1]["weight"] = 0.7, 0.3
    patched = (await m.ok("PATCH", f"/api/campaigns/{cid}", {"variants": variants}))["campaign"]
    assert [v["weight"] for v in patched["variants"]] == [0.7, 0.3]
    started = (await m.ok("POST", f"/api/campaigns/{cid}/start"))["campaign"]
    assert started["status"] == "running" and started["started_at"]
    # Running: texts, rules, name and priority may change.
    variants[1]["content"]["text"] = "Free returns, always."
    live = await m.ok(
        "PATCH",
        f"/api/campaigns/{cid}",
        {
            "name": "Sizes help 2",
            "priority": 9,
            "rules": rules(scroll_percent=40),
            "variants": variants,
        },
    )
    assert live["campaign"]["variants"][1]["content"]["text"] == "Free returns, always."
    assert (await m.ok("POST", f"/api/campaigns/{cid}/pause"))["campaign"]["status"] == "paused"
    assert (await m.ok("POST", f"/api/campaigns/{cid}/start"))["campaign"]["status"] == "running"
    ended = (await m.ok("POST", f"/api/campaigns/{cid}/end"))["campaign"]
    assert ended["status"] == "ended" and ended["ended_at"]
    archived = (await m.ok("POST", f"/api/campaigns/{cid}/archive"))["campaign"]
    assert archived["status"] == "archived"
    actions = [(e["action"], e["status"]) for e in await db.changes() if e["campaign_id"] == cid]
    assert actions == [
        ("created", "draft"),
        ("updated", "draft"),
        ("started", "running"),
        ("updated", "running"),
        ("paused", "paused"),
        ("started", "running"),
        ("ended", "ended"),
        ("archived", "archived"),
    ]
    assert all(e["version"] == 1 and "arm" in e for e in await db.changes())


async def test_list_pages_and_filters(marketer: AgentClient) -> None:
    m = marketer
    ids = [
        (await m.ok("POST", "/api/campaigns", good(name=f"c{i}")))["campaign"]["id"]
        for i in range(5)
    ]
    await m.ok("POST", f"/api/campaigns/{ids[1]}/start")
    first = await m.ok("GET", "/api/campaigns?limit=2")
    assert [c["id"] for c in first["campaigns"]] == ids[::-1][:2]
    second = await m.ok("GET", f"/api/campaigns?limit=2&cursor={first['next_cursor']}")
    assert [c["id"] for c in second["campaigns"]] == ids[::-1][2:4]
    running = await m.ok("GET", "/api/campaigns?status=running")
    assert [c["id"] for c in running["campaigns"]] == [ids[1]] and running["next_cursor"] is None
    status, body = await m.call("GET", "/api/campaigns?status=sleeping")
    assert status == 400 and "status must be one of" in body["message"]


async def test_agents_read_only_the_name_and_variants(
    server: TestServer, marketer: AgentClient
) -> None:
    cid = (await marketer.ok("POST", "/api/campaigns", good()))["campaign"]["id"]
    agent = await login(server, "agent")
    brief = (await agent.ok("GET", f"/api/campaigns/{cid}"))["campaign"]
    assert brief == {
        "id": cid, "name": "Sizes help", "kind": "bot", "version": 1, "variants": ["A", "B"]
    }  # fmt: skip
    for method, path, body in (
        ("GET", "/api/campaigns", None),
        ("POST", "/api/campaigns", good()),
        ("PATCH", f"/api/campaigns/{cid}", {"name": "x"}),
        ("POST", f"/api/campaigns/{cid}/start", None),
        ("DELETE", f"/api/campaigns/{cid}", None),
        ("POST", "/api/campaigns/validate", good()),
    ):
        status, _ = await agent.call(method, path, body)
        assert status == 403, (method, path)
    await agent.close()
    # The operator's token may do everything (no agent is recorded as the author).
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as http,
        http.post(base(server) + "/api/campaigns", json=good()) as resp,
    ):
        assert resp.status == 201
        assert (await resp.json())["campaign"]["created_by"] is None
    status, body = await marketer.call("GET", "/api/campaigns/999999")
    assert (status, body["error"]) == (404, "not_found")


PAST = (datetime.now(UTC) - timedelta(days=1)).isoformat()
# (name, body, field, message fragment)
HOSTILE: list[tuple[str, dict[str, Any], str, str]] = [
    ("invalid glob", good(rules=rules(url_include=["/products/{a,b"])), "rules.url_include",
     "without its }"),
    ("glob without a leading slash", good(rules=rules(url_exclude=["checkout"])),
     "rules.url_exclude", "start with /"),
    ("regex back-reference (exponential in backtracking engines)",
     good(rules=rules(url_regex=r"^(a+)\1$")), "rules.url_regex", "back-references"),
    ("regex look-ahead", good(rules=rules(url_regex=r"(?=a)+")), "rules.url_regex", "look-arounds"),
    ("regex that does not compile", good(rules=rules(url_regex="(unclosed")), "rules.url_regex",
     "does not compile"),
    ("ends before it starts", good(rules=rules(starts_at="2030-02-01T00:00:00Z",
     ends_at="2030-01-01T00:00:00Z")), "rules.ends_at", "after starts_at"),
    ("ends in the past", good(rules=rules(ends_at=PAST)), "rules.ends_at", "in the past"),
    ("visits min over max", good(rules=rules(visits_min=4, visits_max=2)), "rules.visits_min",
     "greater than visits_max"),
    ("unknown segment", good(rules=rules(segment_id=424242)), "rules.segment_id",
     "no segment 424242"),
    ("unknown goal", good(goal={"type": "conversion", "name": "world_peace", "window_hours": 24}),
     "goal.name", "unknown conversion goal 'world_peace'"),
    ("allocation not adding up", good(variants=[
        {"key": "A", "weight": 0.5, "content": {"text": "a"}},
        {"key": "B", "weight": 0.2, "content": {"text": "b"}}]), "variants",
     "they add up to 0.7"),
    ("two controls", good(variants=[
        {"key": "control", "weight": 0.5, "content": {"text": "a"}},
        {"key": "control", "weight": 0.5, "content": {"text": "b"}}]),
     "variants.0.key", "reserved"),
    ("agent kind with an unknown agent", good(kind="agent", agent_id=987654), "agent_id",
     "no active agent 987654"),
    ("unknown field", good(colour="red"), "colour", "Extra inputs"),
    ("text no database can store", good(name="bad \ud800 name"), "name", "not valid text"),
]  # fmt: skip


async def test_bad_input_refused_and_nothing_stored(marketer: AgentClient, db: Db) -> None:
    m = marketer
    for name, body, field, fragment in HOSTILE:
        campaigns, events = await db.count(Campaign), await db.count(InteractionEvent)
        status, answer = await m.call("POST", "/api/campaigns", body)
        assert status == 400, (name, answer)
        assert answer["error"] == "invalid_campaign", name
        messages = {e["field"]: e["message"] for e in answer["errors"]}
        assert field in messages and fragment in messages[field], (name, answer)
        assert field in answer["message"], name  # the summary names the first problem
        stored = (await db.count(Campaign), await db.count(InteractionEvent))
        assert stored == (campaigns, events), name
        # validate says the same without storing either.
        checked = await m.ok("POST", "/api/campaigns/validate", body)
        assert checked["ok"] is False, name
        assert field in {e["field"] for e in checked["errors"]}, name
        assert await db.count(Campaign) == campaigns, name
    # The well-formed body is accepted: the refusals were about what they name.
    assert (await m.ok("POST", "/api/campaigns/validate", good()))["ok"] is True


async def test_archived_segment_refused_live_one_accepted(marketer: AgentClient, db: Db) -> None:
    m = marketer
    archived = await db.segment("old buyers", archived=True)
    status, answer = await m.call("POST", "/api/campaigns", good(rules=rules(segment_id=archived)))
    assert status == 400 and "is archived" in answer["errors"][0]["message"]
    live = await db.segment("buyers")
    created = (await m.ok("POST", "/api/campaigns", good(rules=rules(segment_id=live))))["campaign"]
    assert created["segment_id"] == live
    assert (await m.ok("POST", "/api/campaigns/validate", good()))["errors"] == []


async def test_catastrophic_regex_is_accepted_because_matching_is_linear(
    marketer: AgentClient,
) -> None:
    # RE2 runs (a+)+$ as an automaton: no input makes it slow, so it is safe to keep.
    body = good(rules=rules(url_regex=r"(a+)+$"))
    created = (await marketer.ok("POST", "/api/campaigns", body))["campaign"]
    assert created["rules"]["url_regex"] == r"(a+)+$"


async def test_a_running_campaign_keeps_its_experiment(marketer: AgentClient, db: Db) -> None:
    m = marketer
    cid = (await m.ok("POST", "/api/campaigns", good()))["campaign"]["id"]
    await m.ok("POST", f"/api/campaigns/{cid}/start")
    before = await db.campaign(cid)
    events = await db.count(InteractionEvent)
    shifted = copy.deepcopy(good()["variants"])
    shifted[0]["weight"], shifted[1]["weight"] = 0.8, 0.2
    renamed = copy.deepcopy(good()["variants"])
    renamed[1]["key"] = "C"
    for patch in (
        {"variants": shifted},
        {"variants": renamed},
        {"holdout": 0.3},
        {"goal": {"type": "reply", "window_hours": 24}},
        {"name": "ok", "kind": "nps"},
    ):
        status, answer = await m.call("PATCH", f"/api/campaigns/{cid}", patch)
        assert status == 409, (patch, answer)
        assert answer["error"] == "campaign_conflict"
        assert "create a new version" in answer["message"]
    # An invalid edit of what may change is a 400, equally without effect.
    status, answer = await m.call(
        "PATCH", f"/api/campaigns/{cid}", {"rules": rules(url_include=["x"])}
    )
    assert status == 400 and answer["errors"][0]["field"] == "rules.url_include"
    assert await db.campaign(cid) == before
    assert await db.count(InteractionEvent) == events


async def test_delete_only_a_draft_that_never_ran(marketer: AgentClient, db: Db) -> None:
    m = marketer
    running = (await m.ok("POST", "/api/campaigns", good()))["campaign"]["id"]
    await m.ok("POST", f"/api/campaigns/{running}/start")
    status, answer = await m.call("DELETE", f"/api/campaigns/{running}")
    assert status == 409 and "archive it instead" in answer["message"]
    assert (await db.campaign(running)).status == "running"
    paused = (await m.ok("POST", f"/api/campaigns/{running}/pause"))["campaign"]["id"]
    status, _ = await m.call("DELETE", f"/api/campaigns/{paused}")
    assert status == 409
    draft = (await m.ok("POST", "/api/campaigns", good()))["campaign"]["id"]
    status, _ = await m.call("DELETE", f"/api/campaigns/{draft}")
    assert status == 204
    assert await db.campaign(draft) is None
    # Archive is the way out for one that ran: it is ended too.
    archived = (await m.ok("POST", f"/api/campaigns/{running}/archive"))["campaign"]
    assert archived["status"] == "archived" and archived["ended_at"]


async def test_wrong_transitions_are_conflicts(marketer: AgentClient) -> None:
    m = marketer
    cid = (await m.ok("POST", "/api/campaigns", good()))["campaign"]["id"]
    for action in ("pause", "end"):
        status, answer = await m.call("POST", f"/api/campaigns/{cid}/{action}")
        assert status == 409 and f"is draft: cannot {action}" in answer["message"]
    await m.ok("POST", f"/api/campaigns/{cid}/start")
    status, _ = await m.call("POST", f"/api/campaigns/{cid}/start")
    assert status == 409
    await m.ok("POST", f"/api/campaigns/{cid}/end")
    status, answer = await m.call("PATCH", f"/api/campaigns/{cid}", {"name": "again"})
    assert status == 409 and "is ended" in answer["message"]


async def test_scheduled_when_it_starts_later(marketer: AgentClient) -> None:
    m = marketer
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    cid = (await m.ok("POST", "/api/campaigns", good(rules=rules(starts_at=later))))["campaign"][
        "id"
    ]
    assert (await m.ok("POST", f"/api/campaigns/{cid}/start"))["campaign"]["status"] == "scheduled"


async def test_new_version_replaces_the_old_when_started(marketer: AgentClient, db: Db) -> None:
    m = marketer
    v1 = (await m.ok("POST", "/api/campaigns", good()))["campaign"]["id"]
    await m.ok("POST", f"/api/campaigns/{v1}/start")
    v2 = (await m.ok("POST", f"/api/campaigns/{v1}/versions"))["campaign"]
    assert (v2["status"], v2["version"], v2["parent_id"]) == ("draft", 2, v1)
    assert v2["variants"] == (await m.ok("GET", f"/api/campaigns/{v1}"))["campaign"]["variants"]
    three = [
        {"key": "A", "weight": 0.4, "content": {"text": "a"}},
        {"key": "B", "weight": 0.4, "content": {"text": "b"}},
        {"key": "C", "weight": 0.2, "content": {"text": "c"}},
    ]
    await m.ok("PATCH", f"/api/campaigns/{v2['id']}", {"variants": three, "holdout": 0.2})
    assert (await m.ok("GET", f"/api/campaigns/{v1}"))["campaign"]["status"] == "running"
    await m.ok("POST", f"/api/campaigns/{v2['id']}/start")
    old = (await m.ok("GET", f"/api/campaigns/{v1}"))["campaign"]
    assert old["status"] == "ended" and old["ended_at"]
    replaced = [e for e in await db.changes() if e["campaign_id"] == v1 and e["action"] == "ended"]
    assert replaced and replaced[0]["reason"] == "replaced"


async def test_a_start_or_pause_through_this_node_is_live_at_once(database_url: str) -> None:
    """The cache reloads when this node's service changes a campaign, not after
    CAMPAIGN_REFRESH_SECONDS (an hour here); other nodes use the refresh."""
    from tests.support.visitor import Visitor

    srv = await start_server(database_url, campaign_refresh_seconds=3600)
    m = await login(srv, "marketer")
    visitor = Visitor(rapport=True)
    try:
        await visitor.connect(base(srv))
        page = "http://127.0.0.1/products/{}".format
        await visitor.sio.emit("page_view", {"url": page(1)})  # the cache loads: nothing runs
        await asyncio.sleep(0.5)
        cid = (await m.ok("POST", "/api/campaigns", good(rules=rules(devices=[]))))["campaign"]
        await m.ok("POST", f"/api/campaigns/{cid['id']}/start")
        await visitor.sio.emit("page_view", {"url": page(2)})
        watch = await visitor.wait_for("campaign_watch", timeout=5)
        assert watch["campaign_id"] == cid["id"]
        await m.ok("POST", f"/api/campaigns/{cid['id']}/pause")
        before = len(visitor.seen("campaign_watch"))
        await visitor.sio.emit("page_view", {"url": page(3)})
        await asyncio.sleep(1.5)
        assert len(visitor.seen("campaign_watch")) == before
    finally:
        await visitor.close()
        await m.close()
        await srv.close()
