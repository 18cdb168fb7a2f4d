"""Routing when people come and go (issue 22 §3), on the in-process server.

Rasa is absent (its port is closed) unless a test says otherwise, so every
visitor message asks for a person: an easy way to queue visitors.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from chat_server.verification import user_hash
from dev.devstack import free_port
from tests.integration.conftest import ADMIN_TOKEN, IDENTITY_SECRET, base, new_agent, start_server
from tests.support.agents import AgentClient
from tests.support.visitor import Visitor


async def asking_visitor(srv: TestServer, **connect: Any) -> Visitor:
    visitor = Visitor(rapport=True)
    await visitor.connect(base(srv), **connect)
    await visitor.say("hello, anyone there?")  # the bot is down: a person is asked for
    return visitor


async def conversation_of(agent: AgentClient, visitor: Visitor) -> dict[str, Any]:
    listed = await agent.ok("GET", f"/api/visitors/{visitor.visitor_id}/conversations")
    return dict(listed["conversations"][0])


@pytest.fixture
async def grace_server(database_url: str) -> AsyncIterator[TestServer]:
    srv = await start_server(
        database_url, agent_grace_seconds=4, agent_reconnect_notice_seconds=0.5
    )
    yield srv
    await srv.close()


async def test_an_agent_in_grace_gets_no_new_chats_and_theirs_requeue_ahead(
    grace_server: TestServer,
) -> None:
    srv = grace_server
    other = await new_agent(srv, "Other", max_chats=1)
    await other.connect()
    first = await asking_visitor(srv)
    await first.wait_for("handoff_status", lambda s: s.get("agent_name") == "Other")
    gone = await new_agent(srv, "Gone", max_chats=3)
    await gone.connect()
    kept = await asking_visitor(srv)
    await kept.wait_for("handoff_status", lambda s: s.get("agent_name") == "Gone")
    newer = None
    try:
        mark = len(kept.log)
        await gone.sio.disconnect()  # type: ignore[union-attr]
        # Gone's visitor is told, once it lasts, that the agent is reconnecting.
        notice = await kept.wait_for("handoff_status", lambda s: s.get("agent_reconnecting"))
        assert notice["state"] == "assigned" and notice["agent_name"] == "Gone"
        # A new chat does not go to Gone (console closed) although Gone has free seats.
        newer = await asking_visitor(srv)
        status = await newer.wait_for("handoff_status")
        assert status["state"] == "queued", status
        assert status["estimated_wait_seconds"] is None  # nobody can answer now
        # Grace over: Gone's chat goes back to the queue, ahead of the newer one.
        await kept.wait_for(
            "handoff_status",
            lambda s: s["state"] == "queued" and s["position"] == 1,
            after=mark,
        )
        queue = await other.ok("GET", "/api/conversations?view=queue")
        assert [c["visitor_id"] for c in queue["conversations"]] == [
            kept.visitor_id,
            newer.visitor_id,
        ]
        # The next free seat goes to the visitor who waited longest.
        await other.ok(
            "POST", f"/api/conversations/{(await conversation_of(other, first))['id']}/resolve"
        )
        await kept.wait_for("handoff_status", lambda s: s.get("agent_name") == "Other")
    finally:
        for client in (first, kept, newer):
            if client is not None:
                await client.close()
        await other.close()
        await gone.close()


async def test_transfers_go_only_to_agents_who_can_take_the_chat(server: TestServer) -> None:
    sam = await new_agent(server, "Sam")
    await sam.connect()
    full = await new_agent(server, "Full", status="away", max_chats=1)
    visitor = await asking_visitor(server)
    cid = (await sam.wait_for("assignment"))["conversation"]["id"]
    # Full comes online and gets the next chat (Sam is busier): Full is full.
    await full.set_status("online")
    busy_visitor = await asking_visitor(server)
    await busy_visitor.wait_for("handoff_status", lambda s: s.get("agent_name") == "Full")
    offline = await new_agent(server, "Offline", status="offline")
    away = await new_agent(server, "Away", status="away")
    marketer = await new_agent(server, "Mark", status="offline", role="marketer")
    gone = await new_agent(server, "Gone")
    ready = await new_agent(server, "Ready")
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base(server)}/api/agents/{gone.id}/deactivate", headers=admin) as resp,
    ):
        assert resp.status == 200, await resp.text()
    try:
        for target, why in (
            (offline, "offline"),
            (away, "away"),
            (marketer, "marketers"),
            (full, "maximum of 1"),
            (gone, "deactivated"),
        ):
            status, body = await sam.call(
                "POST", f"/api/conversations/{cid}/transfer", {"agent_id": target.id}
            )
            assert (status, body["error"]) == (409, "agent_unavailable"), (target.username, body)
            assert why in body["message"], body
        # Neither a target nor the queue, or both: invalid input.
        for bad in ({}, {"agent_id": ready.id, "queue": True}):
            status, body = await sam.call("POST", f"/api/conversations/{cid}/transfer", bad)
            assert status in (400, 422), (bad, status, body)
        detail = await sam.ok("GET", f"/api/conversations/{cid}")
        assert detail["conversation"]["assigned_agent"]["id"] == sam.id  # still Sam's
        # Someone online with a free seat: fine.
        await sam.ok("POST", f"/api/conversations/{cid}/transfer", {"agent_id": ready.id})
        await visitor.wait_for("handoff_status", lambda s: s.get("agent_name") == "Ready")
        # Back to the queue is the other valid target.
        await ready.ok(
            "POST", f"/api/conversations/{cid}/transfer", {"queue": True, "note": "any agent"}
        )
        messages = (await ready.ok("GET", f"/api/conversations/{cid}/messages"))["messages"]
        assert "any agent" in [m["text"] for m in messages if m["direction"] == "note"]
        assert "Waiting for a person: transferred" in [m["text"] for m in messages]
    finally:
        for agent in (sam, offline, away, marketer, full, gone, ready):
            await agent.close()
        await visitor.close()
        await busy_visitor.close()


@pytest.fixture
async def leaving_server(database_url: str) -> AsyncIterator[TestServer]:
    # Agents pick from the queue themselves, so a visitor stays queued.
    srv = await start_server(database_url, auto_assign=False, queued_visitor_leave_seconds=1)
    yield srv
    await srv.close()


async def test_a_queued_visitor_who_leaves_drops_out_and_gets_their_place_back(
    leaving_server: TestServer,
) -> None:
    srv = leaving_server
    sam = await new_agent(srv, "Sam")
    leaver = await asking_visitor(srv)
    await leaver.wait_for("handoff_status", lambda s: s["state"] == "queued")
    session_id = leaver.session_id
    newer = None
    try:
        await leaver.close()
        gone = await _wait_state(sam, leaver, "bot")
        assert gone["handoff_reason"] == "visitor_left"
        queue = await sam.ok("GET", "/api/conversations?view=queue")
        assert queue["conversations"] == []  # nobody to assign as if live
        messages = (await sam.ok("GET", f"/api/conversations/{gone['id']}/messages"))["messages"]
        assert "The visitor left before anyone answered" in [m["text"] for m in messages]
        # No email: no follow-up.
        assert (await sam.ok("GET", "/api/followups"))["followups"] == []

        newer = await asking_visitor(srv)
        await newer.wait_for("handoff_status", lambda s: s["state"] == "queued")
        back = Visitor(rapport=True)
        await back.connect(base(srv), session_id=session_id)
        status = await back.wait_for("handoff_status", lambda s: s["state"] == "queued")
        assert status["position"] == 1  # their old place, ahead of the newer visitor
        queue = await sam.ok("GET", "/api/conversations?view=queue")
        assert [c["visitor_id"] for c in queue["conversations"]] == [
            leaver.visitor_id,
            newer.visitor_id,
        ]
        await back.close()
    finally:
        await sam.close()
        if newer is not None:
            await newer.close()


async def test_a_queued_visitor_with_an_email_who_leaves_gets_a_follow_up(
    leaving_server: TestServer,
) -> None:
    srv = leaving_server
    sam = await new_agent(srv, "Sam")
    who = {
        "user_id": "cust-left-1",
        "user_hash": user_hash(IDENTITY_SECRET, "cust-left-1"),
        "email": "left@example.com",
    }
    leaver = await asking_visitor(srv, identity=who)
    await leaver.wait_for("handoff_status", lambda s: s["state"] == "queued")
    try:
        await leaver.close()
        gone = await _wait_state(sam, leaver, "bot")
        followups = (await sam.ok("GET", "/api/followups"))["followups"]
        assert [(f["email"], f["conversation_id"]) for f in followups] == [
            ("left@example.com", gone["id"])
        ]
        assert "hello, anyone there?" in followups[0]["message"]
    finally:
        await sam.close()


async def _wait_state(agent: AgentClient, visitor: Visitor, state: str) -> dict[str, Any]:
    for _ in range(100):
        conversation = await conversation_of(agent, visitor)
        if conversation["state"] == state:
            return conversation
        await asyncio.sleep(0.1)
    raise AssertionError(f"the conversation stayed {conversation['state']}, never {state}")


class SilentRasa:
    """A loopback listener that accepts connections and never answers (a hung Rasa);
    it records the request lines it got."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[str] = []
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> SilentRasa:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        line = await reader.readline()
        self.requests.append(line.decode(errors="replace").strip())

    async def __aexit__(self, *exc: object) -> None:
        for writer in self._writers:
            writer.close()
        assert self._server is not None
        self._server.close()


async def test_a_bot_known_to_be_down_hands_over_without_waiting_for_it(
    database_url: str,
) -> None:
    async with SilentRasa() as rasa:
        # Without the fix, a turn waits for Rasa's full timeout (a minute here).
        srv = await start_server(
            database_url, rasa_url=f"http://127.0.0.1:{rasa.port}", rasa_timeout=60
        )
        sam = await new_agent(srv, "Sam")
        visitor = Visitor(rapport=True)
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"{base(srv)}/healthz/details") as resp,
            ):
                assert resp.status == 503  # the health check finds Rasa down
            await visitor.connect(base(srv))
            await visitor.sio.emit(
                "user_uttered", {"message": "hello?", "session_id": visitor.session_id}
            )
            reply = await visitor.wait_for("bot_uttered", timeout=20)
            assert reply["custom"] == {"type": "assistant_unavailable"}
            await visitor.wait_for(
                "handoff_status", lambda s: s.get("agent_name") == "Sam", timeout=20
            )
            # The turn never went to the hung Rasa: only health probes did.
            assert not any("/webhooks/" in line for line in rasa.requests), rasa.requests
        finally:
            await visitor.close()
            await sam.close()
            await srv.close()
