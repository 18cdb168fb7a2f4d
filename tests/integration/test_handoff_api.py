"""Handoff, agents and the agent API on an in-process chat server (SQLite and PostgreSQL).

Rasa is absent here (its port is closed), which is itself one of the triggers:
with an agent online, a visitor whose bot is unreachable is handed to a person.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import socketio
from aiohttp.test_utils import TestServer
from openapi_spec_validator import validate
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.app import create_app
from chat_server.db.models import TrackerOutbox
from chat_server.settings import Settings
from dev.devstack import ROOT, free_port
from tests.integration.conftest import ADMIN_TOKEN, base, new_agent, start_server
from tests.support.agents import PASSWORD, AgentClient, create_agent
from tests.support.visitor import Visitor


async def outbox_rows(database_url: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(TrackerOutbox))).scalar_one()
            )
    finally:
        await engine.dispose()


async def test_bot_unreachable_hands_the_visitor_to_an_online_agent(server: TestServer) -> None:
    agent = await new_agent(server, "Alex")
    await agent.connect()
    visitor = Visitor(rapport=True)
    await visitor.connect(base(server))
    try:
        replies = await visitor.say("hello, anyone there?")
        assert replies[0]["custom"] == {"type": "assistant_unavailable"}
        status = await visitor.wait_for("handoff_status", lambda s: s["state"] == "assigned")
        assert status["agent_name"] == "Alex"
        assignment = await agent.wait_for("assignment")
        conversation = assignment["conversation"]
        assert assignment["reason"] == "bot_unavailable"
        assert conversation["state"] == "assigned"
        assert conversation["assigned_agent"]["display_name"] == "Alex"

        # The human conversation works without Rasa, and the bot stays silent.
        cid = conversation["id"]
        await agent.ok("POST", f"/api/conversations/{cid}/messages", {"text": "Hi, Alex here."})
        reply = await visitor.wait_for(
            "bot_uttered", lambda m: m.get("sender", {}).get("type") == "agent"
        )
        assert reply["text"] == "Hi, Alex here." and reply["sender"]["name"] == "Alex"
        before = len(visitor.seen("bot_uttered"))
        await visitor.sio.emit(
            "user_uttered", {"message": "my order is late", "session_id": visitor.session_id}
        )
        created = await agent.wait_for(
            "message_created", lambda m: m["message"]["text"] == "my order is late"
        )
        assert created["message"]["direction"] == "visitor"
        await asyncio.sleep(0.5)
        assert len(visitor.seen("bot_uttered")) == before  # no bot reply while a human owns it
        # Rasa is down: what was said waits in the outbox for the tracker.
        assert await outbox_rows(server.settings.database_url) == 2  # type: ignore[attr-defined]
        detail = await agent.ok("GET", f"/api/conversations/{cid}")
        assert detail["conversation"]["unread"] == 1
        assert detail["context"]["handoff_reason"] == "bot_unavailable"
        transcript = (await agent.ok("GET", f"/api/conversations/{cid}/messages"))["messages"]
        assert [m["direction"] for m in transcript] == [
            "visitor",
            "bot",
            "system",
            "system",
            "agent",
            "visitor",
        ]
    finally:
        await agent.set_status("offline")
        await agent.close()
        await visitor.close()


async def test_nobody_online_keeps_the_bot_conversation(server: TestServer) -> None:
    away = await new_agent(server, "Away", status="away")
    visitor = Visitor(rapport=True)
    await visitor.connect(base(server))
    try:
        replies = await visitor.say("hello?")
        assert replies[0]["custom"] == {"type": "assistant_unavailable"}
        await asyncio.sleep(0.3)
        assert not visitor.seen("handoff_status")
        listing = await away.ok("GET", "/api/conversations?view=bot")
        assert [c["state"] for c in listing["conversations"]] == ["bot"]
        assert listing["counts"]["queue"] == 0
    finally:
        await away.close()
        await visitor.close()


async def bot_conversation(srv: TestServer) -> tuple[Visitor, int]:
    """A visitor with a conversation the bot (not any agent) owns."""
    visitor = Visitor(rapport=True)
    await visitor.connect(base(srv))
    await visitor.say("hi")
    async with aiohttp.ClientSession() as http:
        data = await create_agent(http, base(srv), ADMIN_TOKEN, name="Lookup")
    lookup = await AgentClient(base(srv), data["username"]).login()
    listing = await lookup.ok("GET", "/api/conversations?view=bot")
    await lookup.close()
    (conversation,) = [c for c in listing["conversations"] if c["visitor_id"] == visitor.visitor_id]
    return visitor, conversation["id"]


async def test_two_agents_accepting_at_once_exactly_one_wins(server: TestServer) -> None:
    visitor, cid = await bot_conversation(server)
    sam = await new_agent(server, "Sam", status="away")
    kim = await new_agent(server, "Kim", status="away")
    try:
        results = await asyncio.gather(
            sam.call("POST", f"/api/conversations/{cid}/accept"),
            kim.call("POST", f"/api/conversations/{cid}/accept"),
        )
        statuses = sorted(status for status, _ in results)
        assert statuses == [200, 409], results
        winner = next(body for status, body in results if status == 200)["conversation"]
        loser = next(body for status, body in results if status == 409)
        name = winner["assigned_agent"]["display_name"]
        assert loser["error"] == "conflict"
        assert loser["message"] == f"{name} accepted this conversation first"
        assert winner["handoff_reason"] == "barge_in"
        # Accepting again, even by the winner, is refused: it is not queued any more.
        status, _ = await sam.call("POST", f"/api/conversations/{cid}/accept")
        assert status == 409
    finally:
        await sam.close()
        await kim.close()
        await visitor.close()


async def test_transfer_with_a_note_the_visitor_never_sees(server: TestServer) -> None:
    visitor, cid = await bot_conversation(server)
    sam = await new_agent(server, "Sam", status="away")
    # Transfers go only to someone online with a free seat.
    kim = await new_agent(server, "Kim", status="online")
    await kim.connect()
    try:
        await sam.ok("POST", f"/api/conversations/{cid}/accept")
        await sam.ok("POST", f"/api/conversations/{cid}/messages", {"text": "Sam here."})
        status, body = await kim.call(
            "POST", f"/api/conversations/{cid}/messages", {"text": "hijack"}
        )
        assert (status, body["error"]) == (403, "forbidden")
        await sam.ok(
            "POST",
            f"/api/conversations/{cid}/transfer",
            {"agent_id": kim.id, "note": "Wants a refund for order TR-10031"},
        )
        assignment = await kim.wait_for("assignment")
        assert assignment["reason"] == "transfer"
        assert assignment["conversation"]["assigned_agent"]["id"] == kim.id
        status, _ = await sam.call(
            "POST", f"/api/conversations/{cid}/messages", {"text": "still me"}
        )
        assert status == 403
        await kim.ok("POST", f"/api/conversations/{cid}/messages", {"text": "Kim here, on it."})
        status_msg = await visitor.wait_for(
            "handoff_status", lambda s: s.get("agent_name") == "Kim"
        )
        assert status_msg["state"] == "assigned"

        transcript = (await kim.ok("GET", f"/api/conversations/{cid}/messages"))["messages"]
        notes = [m for m in transcript if m["direction"] == "note"]
        assert [n["text"] for n in notes] == ["Wants a refund for order TR-10031"]
        # Neither live nor in history does the visitor get the note.
        texts = [m.get("text") for m in visitor.seen("bot_uttered")]
        assert "Wants a refund for order TR-10031" not in texts
        again = Visitor(rapport=True)
        await again.connect(base(server), session_id=visitor.session_id)
        history = (await again.wait_for("history"))["messages"]
        assert {m["direction"] for m in history} <= {"visitor", "bot", "agent"}
        assert [m["sender_name"] for m in history if m["direction"] == "agent"] == ["Sam", "Kim"]
        await again.close()
    finally:
        await sam.close()
        await kim.close()
        await visitor.close()


async def test_visitor_away_agent_messages_wait_for_their_return(server: TestServer) -> None:
    visitor, cid = await bot_conversation(server)
    sam = await new_agent(server, "Sam", status="away")
    await sam.connect()
    try:
        await sam.ok("POST", f"/api/conversations/{cid}/accept")
        await visitor.close()
        offline = await sam.wait_for("visitor_presence", lambda p: p["online"] is False)
        assert offline["conversation_id"] == cid
        detail = await sam.ok("GET", f"/api/conversations/{cid}")
        assert detail["visitor"]["online"] is False
        await sam.ok("POST", f"/api/conversations/{cid}/messages", {"text": "Are you still there?"})
        back = Visitor(rapport=True)
        await back.connect(base(server), session_id=visitor.session_id)
        history = (await back.wait_for("history"))["messages"]
        assert history[-1]["text"] == "Are you still there?"
        assert (await back.wait_for("handoff_status"))["state"] == "assigned"
        await sam.wait_for("visitor_presence", lambda p: p["online"] is True)
        await back.close()
    finally:
        await sam.close()


@pytest.fixture
async def quick_grace_server(database_url: str) -> AsyncIterator[TestServer]:
    srv = await start_server(database_url, agent_grace_seconds=1)
    yield srv
    await srv.close()


@pytest.fixture
async def manual_server(database_url: str) -> AsyncIterator[TestServer]:
    srv = await start_server(database_url, auto_assign=False)
    yield srv
    await srv.close()


async def test_without_auto_assign_visitors_queue_and_see_their_position_move(
    manual_server: TestServer,
) -> None:
    srv = manual_server
    sam = await new_agent(srv, "Sam", status="online")
    first, second = Visitor(rapport=True), Visitor(rapport=True)
    try:
        for visitor in (first, second):
            await visitor.connect(base(srv))
            await visitor.say("hello?")  # the bot is down: queued for a person
        assert (await first.wait_for("handoff_status"))["position"] == 1
        assert (await second.wait_for("handoff_status", lambda s: s["state"] == "queued"))[
            "position"
        ] == 2
        queue = await sam.ok("GET", "/api/conversations?view=queue")
        assert [c["visitor_id"] for c in queue["conversations"]] == [
            first.visitor_id,
            second.visitor_id,
        ]
        assert [c["queue_position"] for c in queue["conversations"]] == [1, 2]
        assert queue["counts"]["queue"] == 2
        mark = len(second.log)
        await sam.ok("POST", f"/api/conversations/{queue['conversations'][0]['id']}/accept")
        moved = await second.wait_for("handoff_status", after=mark)
        assert (moved["state"], moved["position"]) == ("queued", 1)
        assert (await first.wait_for("handoff_status", lambda s: s["state"] == "assigned"))[
            "agent_name"
        ] == "Sam"
    finally:
        await sam.close()
        await first.close()
        await second.close()


async def test_an_agent_who_disconnects_loses_their_chats_to_the_queue(
    quick_grace_server: TestServer,
) -> None:
    srv = quick_grace_server
    gone = await new_agent(srv, "Gone", status="online", max_chats=1)
    await gone.connect()
    visitor, other = Visitor(rapport=True), Visitor(rapport=True)
    await visitor.connect(base(srv))
    await other.connect(base(srv))
    busy = None
    try:
        await visitor.say("hello?")  # Rasa is down: handed to the online agent
        cid = (await gone.wait_for("assignment"))["conversation"]["id"]
        # Someone else stays online, but with no free seat.
        busy = await new_agent(srv, "Busy", status="online", max_chats=1)
        await other.say("hello?")
        await other.wait_for("handoff_status", lambda s: s.get("agent_name") == "Busy")
        await gone.sio.disconnect()  # type: ignore[union-attr]
        # Back within the grace period: nothing happens.
        await gone.connect()
        await asyncio.sleep(1.5)
        detail = await gone.ok("GET", f"/api/conversations/{cid}")
        assert detail["conversation"]["state"] == "assigned"
        # Gone for good: the conversation returns to the queue, then to whoever is free.
        mark = len(visitor.log)
        await gone.sio.disconnect()  # type: ignore[union-attr]
        status = await visitor.wait_for(
            "handoff_status", lambda s: s["state"] == "queued", timeout=10, after=mark
        )
        assert status["position"] == 1
        detail = await gone.ok("GET", f"/api/conversations/{cid}")
        assert detail["conversation"]["state"] == "queued"
        assert detail["conversation"]["handoff_reason"] == "agent_disconnected"
        me = await gone.ok("GET", "/api/me")
        assert me["agent"]["status"] == "offline"
        backup = await new_agent(srv, "Backup", status="online")
        await visitor.wait_for("handoff_status", lambda s: s.get("agent_name") == "Backup")
        messages = (await backup.ok("GET", f"/api/conversations/{cid}/messages"))["messages"]
        assert "hello?" in [m["text"] for m in messages]  # nothing lost
        await backup.set_status("offline")
        await backup.close()
    finally:
        if busy is not None:
            await busy.close()
        await gone.close()
        await visitor.close()
        await other.close()


async def test_when_the_last_agent_leaves_queued_visitors_are_offered_to_leave_a_message(
    manual_server: TestServer,
) -> None:
    srv = manual_server  # no auto-assign: the visitor waits in the queue
    sam = await new_agent(srv, "Sam", status="online")
    visitor, plain = Visitor(rapport=True), Visitor()
    try:
        for client in (visitor, plain):
            await client.connect(base(srv))
            await client.say("hello?")
        await visitor.wait_for("handoff_status", lambda s: s["state"] == "queued")
        mark = len(visitor.log)
        await sam.set_status("away")
        assert (await visitor.wait_for("handoff_status", after=mark))["state"] == "bot"
        offer = await visitor.wait_for(
            "bot_uttered",
            lambda m: "Nobody from our team is online" in m.get("text", ""),
            after=mark,
        )
        assert offer["custom"] == {"type": "followup_offer"}
        plain_offer = await plain.wait_for(
            "bot_uttered", lambda m: "Nobody from our team is online" in m.get("text", "")
        )
        assert set(plain_offer) == {"text", "quick_replies"}  # renderable by rasa-webchat
        queue = await sam.ok("GET", "/api/conversations?view=queue")
        assert queue["conversations"] == []
        # The visitor leaves a message as if nobody had been online from the start.
        await visitor.say("Please call me about my order TR-10031")
        done = await visitor.say("me@example.com")
        assert "me@example.com" in done[0]["text"]
        followups = (await sam.ok("GET", "/api/followups"))["followups"]
        assert [f["message"] for f in followups if f["email"] == "me@example.com"] == [
            "Please call me about my order TR-10031"
        ]
    finally:
        await sam.close()
        await visitor.close()
        await plain.close()


ENDPOINTS = [
    ("GET", "/api/me"),
    ("PATCH", "/api/me"),
    ("GET", "/api/agents"),
    ("POST", "/api/agents"),
    ("GET", "/api/conversations"),
    ("GET", "/api/conversations/1"),
    ("GET", "/api/conversations/1/messages"),
    ("POST", "/api/conversations/1/messages"),
    ("POST", "/api/conversations/1/accept"),
    ("POST", "/api/conversations/1/transfer"),
    ("POST", "/api/conversations/1/resolve"),
    ("POST", "/api/conversations/1/handback"),
    ("GET", "/api/canned-responses"),
    ("POST", "/api/canned-responses"),
    ("GET", "/api/followups"),
    ("POST", "/api/me/token"),
]


async def test_unauthenticated_and_unauthorised_calls_are_refused(server: TestServer) -> None:
    url = base(server)
    async with aiohttp.ClientSession() as anonymous:
        for method, path in ENDPOINTS:
            async with anonymous.request(method, url + path, json={}) as resp:
                assert resp.status == 401, (method, path, resp.status)
                assert (await resp.json())["error"] == "unauthenticated"
            async with anonymous.request(
                method, url + path, json={}, headers={"Authorization": "Bearer rpt_forged"}
            ) as resp:
                assert resp.status == 401, (method, path)
        async with anonymous.post(
            url + "/api/auth/login", json={"username": "nobody", "password": "x" * 12}
        ) as resp:
            assert resp.status == 401

    agent = await new_agent(server, "Plain", status="away")
    try:
        # A cookie session must send the CSRF token on every state change.
        async with agent.http.post(
            url + "/api/canned-responses", json={"shortcut": "hi", "text": "Hello!"}
        ) as resp:
            assert resp.status == 403 and (await resp.json())["error"] == "csrf"
        async with agent.http.post(
            url + "/api/canned-responses",
            json={"shortcut": "hi", "text": "Hello!"},
            headers={"X-CSRF-Token": "wrong"},
        ) as resp:
            assert resp.status == 403
        # Agents are not admins.
        status, body = await agent.call(
            "POST",
            "/api/agents",
            {"username": "mallory", "password": PASSWORD, "display_name": "M"},
        )
        assert (status, body["error"]) == (403, "forbidden")
        status, _ = await agent.call("GET", "/api/visitors/" + "0" * 32 + "/export")
        assert status == 403
        # Bad bodies get a clear reason.
        status, body = await agent.call(
            "POST", "/api/canned-responses", {"shortcut": "no spaces!", "text": ""}
        )
        assert status == 400 and "shortcut" in body["message"]
        status, body = await agent.call("POST", "/api/conversations/999/messages", {"text": "x"})
        assert status == 404
        for text in ("\ud800 broken", "\x00", "\u200b"):  # unstorable, or nothing visible
            status, body = await agent.call(
                "POST", "/api/conversations/999/messages", {"text": text}
            )
            assert (status, body["error"]) == (400, "invalid"), text
    finally:
        await agent.close()

    # The agent socket refuses anyone without credentials, forged tokens and
    # cookies presented from another site.
    for kwargs in ({}, {"auth": {"token": "rpt_forged"}}):
        client = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(url, namespaces=["/agent"], transports=["websocket"], **kwargs)
        await client.disconnect()
    logged_in = await new_agent(server, "Cookie", status="away")
    cookie = "; ".join(f"{c.key}={c.value}" for c in logged_in.http.cookie_jar)
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            url,
            namespaces=["/agent"],
            transports=["websocket"],
            headers={"Cookie": cookie, "Origin": "https://evil.example"},
        )
    await client.disconnect()
    same_site = socketio.AsyncClient(reconnection=False)
    await same_site.connect(
        url,
        namespaces=["/agent"],
        transports=["websocket"],
        headers={"Cookie": cookie, "Origin": url},
    )
    assert same_site.connected
    await same_site.disconnect()
    await logged_in.close()


async def test_a_visitor_socket_cannot_reach_agent_events(server: TestServer) -> None:
    visitor, cid = await bot_conversation(server)
    other = Visitor(rapport=True)
    await other.connect(base(server))
    try:
        # Agent events on the visitor namespace are unknown events there.
        await other.sio.emit("watch", {"conversation_id": cid})
        await other.sio.emit("send_message", {"conversation_id": cid, "text": "spoof"})
        # Rating someone else's conversation is refused.
        await other.sio.emit("csat_submitted", {"conversation_id": cid, "score": 1})
        error = await other.wait_for("error", lambda e: e["code"] != "unknown_event")
        assert "cannot be rated" in error["message"]
        assert [e["code"] for e in other.seen("error")].count("unknown_event") == 2
        await asyncio.sleep(0.3)
        assert "spoof" not in [m.get("text") for m in visitor.seen("bot_uttered")]
        assert not other.seen("bot_uttered")
    finally:
        await other.close()
        await visitor.close()


async def test_openapi_document_is_valid_and_describes_every_route(server: TestServer) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(base(server) + "/api/openapi.json") as resp,
    ):
        assert resp.status == 200
        document = await resp.json()
    validate(document)
    described = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    served = {
        (route.method, route.resource.canonical)
        for route in server.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/")
        and route.method != "HEAD"
    }
    assert described == served


async def test_first_start_creates_an_admin_with_a_one_time_password(tmp_path: Path) -> None:
    password_file = tmp_path / "initial_admin_password"
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}",
        rasa_url=f"http://127.0.0.1:{free_port()}",
        action_server_url=f"http://127.0.0.1:{free_port()}",
        secret_key="test-secret-key-0123456789",  # type: ignore[arg-type]
        initial_admin_password_file=password_file,
    )
    srv = TestServer(create_app(settings), host="127.0.0.1", port=free_port())
    await srv.start_server()
    try:
        one_time = password_file.read_text().strip()
        assert len(one_time) >= 12
        admin = await AgentClient(base(srv), "admin", one_time).login()
        status, body = await admin.call("GET", "/api/conversations")
        assert (status, body["error"]) == (403, "password_change_required")
        await admin.ok(
            "POST",
            "/api/me/password",
            {"current_password": one_time, "new_password": "a much better password"},
        )
        await admin.ok("GET", "/api/conversations")
        assert not password_file.exists()  # spent: removed
        await admin.close()
        stale = AgentClient(base(srv), "admin", one_time)
        with pytest.raises(AssertionError):
            await stale.login()  # the one-time password is spent
        await stale.close()
    finally:
        await srv.close()
    # A second start does not create another admin.
    srv = TestServer(create_app(settings), host="127.0.0.1", port=free_port())
    await srv.start_server()
    await srv.close()
    assert not password_file.exists()


@pytest.mark.slow  # runs the CLI in a subprocess: not the fast tier
def test_create_agent_command(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    command = [
        sys.executable,
        "-m",
        "chat_server",
        "create-agent",
        "--database-url",
        url,
        "--username",
        "priya",
        "--display-name",
        "Priya",
        "--role",
        "admin",
        "--password",
        "a long enough password",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "created admin 'priya'" in done.stdout
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert again.returncode != 0 and "taken" in again.stderr
    short = subprocess.run(
        [*command[:-1], "short"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert short.returncode != 0 and "at least 10" in short.stderr


async def test_an_unrated_resolve_asks_again_after_a_reload(server: TestServer) -> None:
    visitor, cid = await bot_conversation(server)
    sam = await new_agent(server, "Sam", status="away")
    try:
        await sam.ok("POST", f"/api/conversations/{cid}/accept")
        await sam.ok("POST", f"/api/conversations/{cid}/resolve")
        assert (await visitor.wait_for("csat_request"))["conversation_id"] == cid
        await visitor.close()
        reloaded = Visitor(rapport=True)
        await reloaded.connect(base(server), session_id=visitor.session_id)
        assert (await reloaded.wait_for("csat_request"))["conversation_id"] == cid
        await reloaded.sio.emit("csat_submitted", {"conversation_id": cid, "score": 5})
        await reloaded.wait_for("csat_recorded")
        await reloaded.sio.emit("csat_submitted", {"conversation_id": cid, "score": 1})
        assert "cannot be rated" in (await reloaded.wait_for("error"))["message"]  # only once
        await reloaded.close()
        again = Visitor(rapport=True)
        await again.connect(base(server), session_id=visitor.session_id)
        await asyncio.sleep(0.3)
        assert not again.seen("csat_request")  # rated: not asked again
        await again.close()
        detail = await sam.ok("GET", f"/api/conversations/{cid}")
        assert detail["conversation"]["csat"] == {"score": 5, "comment": None}
    finally:
        await sam.close()
