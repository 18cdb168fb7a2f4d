"""The interaction event log (docs/analytics.md): what the widget reports (page
views, open/close, conversion goals through Rapport.track), what the chat path
writes, and the hostile inputs the issue names. In-process server, Rasa absent."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.integration.conftest import ADMIN_TOKEN, base, start_server
from tests.integration.helpers import events_of, of_type
from tests.support.agents import AgentClient, create_agent
from tests.support.visitor import Visitor

PAGE = "http://127.0.0.1/products/tents?utm_source=newsletter&utm_campaign=spring#top"


async def logged(database_url: str, visitor_id: str, *types: str) -> list[Any]:
    """The visitor's events once every type in ``types`` is there (plain emits
    have no ack, and the server runs handlers concurrently)."""
    for _ in range(100):
        events = await events_of(database_url, visitor_id)
        if set(types) <= {e.type for e in events}:
            return events
        await asyncio.sleep(0.1)
    raise AssertionError(f"{types} never logged; got {[e.type for e in events]}")


async def test_page_views_open_close_and_time_on_page_are_logged(server: TestServer) -> None:
    visitor = Visitor(rapport=True)
    await visitor.connect(base(server))
    try:
        await visitor.sio.emit(
            "page_view",
            {"url": PAGE, "title": "Tents", "referrer": "https://search.example/?q=tent"},
        )
        await visitor.sio.emit("widget_opened", {"url": PAGE})
        await visitor.sio.emit("widget_closed", {})
        await visitor.sio.emit("page_left", {"url": PAGE, "seconds": 42.5})
        events = await logged(
            server.settings.database_url,  # type: ignore[attr-defined]
            visitor.visitor_id,
            "page_view",
            "widget_opened",
            "widget_closed",
            "page_left",
        )
    finally:
        await visitor.close()
    [view] = of_type(events, "page_view")
    assert view["url"] == PAGE
    assert view["path"] == "/products/tents"
    assert view["utm_source"] == "newsletter"
    assert view["utm_campaign"] == "spring"
    assert view["utm_medium"] is None
    assert view["title"] == "Tents"
    assert view["referrer"] == "https://search.example/?q=tent"
    assert view["returning"] is False  # created a moment ago
    assert of_type(events, "widget_opened") == [{"url": PAGE}]
    assert of_type(events, "widget_closed") == [{"url": None}]
    assert of_type(events, "page_left") == [
        {"url": PAGE, "path": "/products/tents", "seconds": 42.5}
    ]


async def test_a_purchase_counts_once_per_order(server: TestServer) -> None:
    visitor = Visitor(rapport=True)
    await visitor.connect(base(server))
    goal = {
        "name": "purchase",
        "properties": {"value": 129.0, "currency": "EUR", "order_id": "A-1001"},
        "url": "http://127.0.0.1/thanks",
    }
    try:
        first = await visitor.sio.call("track", goal, timeout=10)
        again = await visitor.sio.call("track", goal, timeout=10)  # the thank-you page reloaded
        other = await visitor.sio.call(
            "track", {**goal, "properties": {"value": 5, "order_id": "A-1002"}}, timeout=10
        )
        signup = await visitor.sio.call("track", {"name": "signup"}, timeout=10)
    finally:
        await visitor.close()
    # Unsigned, from the browser: conversions, their values unverified (test_revenue_trust.py).
    assert first == {"ok": True, "duplicate": False, "verified": False}
    assert again == {"ok": True, "duplicate": True, "verified": False}
    assert other == {"ok": True, "duplicate": False, "verified": False}
    assert signup == {"ok": True, "duplicate": False, "verified": False}
    events = await events_of(server.settings.database_url, visitor.visitor_id)  # type: ignore[attr-defined]
    assert of_type(events, "conversion") == [
        {
            "name": "purchase",
            "value": 129.0,
            "currency": "EUR",
            "order_id": "A-1001",
            "url": "http://127.0.0.1/thanks",
            "verified": False,
            "source": "browser",
        },
        # No currency given: the site's default (CONVERSION_CURRENCY).
        {
            "name": "purchase",
            "value": 5.0,
            "currency": "USD",
            "order_id": "A-1002",
            "url": "http://127.0.0.1/thanks",
            "verified": False,
            "source": "browser",
        },
        {
            "name": "signup",
            "value": 0.0,
            "currency": "USD",
            "order_id": None,
            "url": None,
            "verified": False,
            "source": "browser",
        },
    ]


HOSTILE_GOALS = [
    ({"name": "purchase", "properties": {"value": "129"}}, "invalid_goal", "value"),
    ({"name": "purchase", "properties": {"value": True}}, "invalid_goal", "value"),
    ({"name": "purchase", "properties": {"value": -1}}, "invalid_goal", "value"),
    ({"name": "purchase", "properties": {"value": 1e12}}, "invalid_goal", "value"),
    ({"name": "purchase", "properties": {"currency": "euro"}}, "invalid_goal", "currency"),
    ({"name": "purchase", "properties": {"order_id": ""}}, "invalid_goal", "order_id"),
    ({"name": "purchase", "properties": {"order_id": "x" * 101}}, "invalid_goal", "order_id"),
    ({"name": "purchase", "properties": {"order_id": "a\u0000b"}}, "invalid_goal", "order_id"),
    ({"name": "purchase", "properties": {"coupon": "FREE"}}, "invalid_goal", "coupon"),
    ({"name": "purchase", "properties": {f"k{i}": i for i in range(2000)}}, "invalid_goal", ""),
    ({"name": "purchase", "properties": [1, 2]}, "invalid_goal", "properties"),
    ({"name": "Purchase!"}, "invalid_goal", "name"),
    ({"name": 7}, "invalid_goal", "name"),
    ({"properties": {"value": 1}}, "invalid_goal", "name"),
    ("purchase", "invalid_goal", ""),
    (None, "invalid_goal", ""),
    ({"name": "refund", "properties": {"value": 10}}, "unknown_goal", "refund"),
]


@pytest.mark.parametrize(("payload", "code", "mentions"), HOSTILE_GOALS)
async def test_bad_track_calls_are_refused_with_a_reason_and_nothing_is_stored(
    server: TestServer, payload: Any, code: str, mentions: str
) -> None:
    visitor = Visitor(rapport=True)
    await visitor.connect(base(server))
    try:
        ack = await visitor.sio.call("track", payload, timeout=10)
        # The server is still fine: a good goal after the bad one counts.
        good = await visitor.sio.call("track", {"name": "signup"}, timeout=10)
    finally:
        await visitor.close()
    assert ack["ok"] is False
    assert ack["code"] == code
    assert mentions in ack["message"]
    assert good == {"ok": True, "duplicate": False, "verified": False}
    events = await events_of(server.settings.database_url, visitor.visitor_id)  # type: ignore[attr-defined]
    assert [e["name"] for e in of_type(events, "conversion")] == ["signup"]


async def test_a_flood_of_track_calls_is_cut_off_and_counted(database_url: str) -> None:
    srv = await start_server(database_url, rate_limit_track="5/minute")
    visitor = Visitor(rapport=True)
    await visitor.connect(base(srv))
    try:
        acks = [
            await visitor.sio.call("track", {"name": "add_to_cart"}, timeout=10) for _ in range(8)
        ]
    finally:
        await visitor.close()
        await srv.close()
    assert [a["ok"] for a in acks] == [True] * 5 + [False] * 3
    assert {a["code"] for a in acks[5:]} == {"rate_limited"}
    assert all(a["retry_after"] > 0 for a in acks[5:])
    events = await events_of(database_url, visitor.visitor_id)
    assert len(of_type(events, "conversion")) == 5


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("page_view", {"url": "javascript:alert(1)"}),
        ("page_view", {"url": "http://x/" + "a" * 9000}),
        ("page_view", {"url": "http://x/", "title": 5}),
        ("page_view", "http://x/"),
        ("page_left", {"url": "http://x/", "seconds": -3}),
        ("page_left", {"url": "http://x/", "seconds": "forever"}),
        ("widget_opened", {"url": "file:///etc/passwd"}),
    ],
)
async def test_bad_page_events_get_a_clear_error_and_store_nothing(
    server: TestServer, event: str, payload: Any
) -> None:
    visitor = Visitor(rapport=True)
    await visitor.connect(base(server))
    try:
        await visitor.sio.emit(event, payload)
        error = await visitor.next("error", timeout=10)
    finally:
        await visitor.close()
    assert error["code"] == "invalid_payload"
    assert error["message"]
    events = await events_of(server.settings.database_url, visitor.visitor_id)  # type: ignore[attr-defined]
    assert [e.type for e in events] == []  # and no visitor row: nothing worth storing


async def test_analytics_events_need_a_session_first(server: TestServer) -> None:
    """A socket that never asked for a session creates no visitor by reporting."""
    import socketio

    client = socketio.AsyncClient()
    await client.connect(base(server), transports=["websocket"])
    try:
        ack = await client.call("track", {"name": "purchase"}, timeout=10)
    finally:
        await client.disconnect()
    assert ack["ok"] is False and ack["code"] == "invalid_session"


async def test_marketers_see_analytics_but_never_conversations(server: TestServer) -> None:
    async with aiohttp.ClientSession() as http:
        data = await create_agent(http, base(server), ADMIN_TOKEN, name="Mia", role="marketer")
    marketer = await AgentClient(base(server), data["username"]).login()
    try:
        me = await marketer.ok("GET", "/api/me")
        assert me["agent"]["role"] == "marketer"
        for path in ("/api/conversations", "/api/conversations/1", "/api/followups", "/api/agents"):
            status, body = await marketer.call("GET", path)
            assert (status, body["error"]) == (403, "forbidden"), path
        status, body = await marketer.call("PATCH", "/api/me", {"status": "online"})
        assert status == 403  # never routed a conversation

        await marketer.connect()
        visitor = Visitor(rapport=True)
        await visitor.connect(base(server))
        await visitor.say("hello")
        # The dashboard hears that events were logged; no conversation data.
        notice = await marketer.wait_for("analytics_changed", lambda d: True, timeout=10)
        assert "message_received" in notice["types"]
        assert not marketer.seen("conversation_updated")
        assert not marketer.seen("message_created")
        refused = await marketer.emit("watch", {"conversation_id": 1})
        assert refused["ok"] is False
        await visitor.close()
    finally:
        await marketer.close()


async def test_the_log_follows_a_handoff_from_queue_to_rating(server: TestServer) -> None:
    """Queue wait, first human response and handoff duration are measured from
    the handoff; the rating names the agent."""
    async with aiohttp.ClientSession() as http:
        data = await create_agent(http, base(server), ADMIN_TOKEN, name="Ana")
    agent = await AgentClient(base(server), data["username"]).login()
    visitor = Visitor(rapport=True)
    await visitor.connect(base(server))
    try:
        # Rasa is absent: with an agent online, the visitor is handed over.
        await agent.set_status("online")
        await agent.connect()
        await visitor.say("is anybody there?")
        await visitor.wait_for("handoff_status", lambda s: s["state"] == "assigned")
        [conversation] = [
            c
            for c in (await agent.ok("GET", "/api/conversations"))["conversations"]
            if c["visitor_id"] == visitor.visitor_id
        ]
        await asyncio.sleep(0.3)
        await agent.ok(
            "POST", f"/api/conversations/{conversation['id']}/messages", {"text": "Hi, Ana here"}
        )
        await agent.ok(
            "POST", f"/api/conversations/{conversation['id']}/messages", {"text": "Anything else?"}
        )
        await agent.ok("POST", f"/api/conversations/{conversation['id']}/resolve")
        await visitor.wait_for("csat_request", lambda d: True)
        await visitor.sio.emit(
            "csat_submitted", {"conversation_id": conversation["id"], "score": 4}
        )
        await visitor.wait_for("csat_recorded", lambda d: True)
    finally:
        await visitor.close()
        await agent.close()
    events = await events_of(server.settings.database_url, visitor.visitor_id)  # type: ignore[attr-defined]
    started = [e for e in events if e.type == "conversation_started"]
    assert conversation["id"] in {e.conversation_id for e in started}
    transitions = of_type(events, "handoff_transition")
    assigned = [t for t in transitions if t["to"] == "assigned"]
    assert assigned and assigned[-1]["agent_id"] == agent.id
    assert assigned[-1]["wait_seconds"] >= 0
    [resolved] = [t for t in transitions if t["to"] == "resolved"]
    [first] = of_type(events, "agent_first_response")  # the second reply is not "first"
    assert first["agent_id"] == agent.id
    # Measured from the queue: at least the 0.3 s the agent took, at most the
    # whole handoff.
    assert 0.3 <= first["seconds"] <= resolved["handoff_seconds"]
    assert resolved["agent_id"] == agent.id
    assert of_type(events, "csat") == [{"score": 4, "comment": False, "agent_id": agent.id}]
