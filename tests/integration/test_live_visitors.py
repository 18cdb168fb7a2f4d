"""Live visitors: who is on the site now, and an agent starting a chat with one
of them. In-process chat server (Rasa absent: the agent's path needs no bot)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from chat_server.services import presence
from tests.integration.conftest import ADMIN_TOKEN, base
from tests.support.agents import AgentClient, create_agent
from tests.support.visitor import Visitor


async def new_agent(server: TestServer, name: str, role: str = "agent") -> AgentClient:
    async with aiohttp.ClientSession() as http:
        data = await create_agent(http, base(server), ADMIN_TOKEN, name=name, role=role)
    return await AgentClient(base(server), data["username"]).login()


async def live(agent: AgentClient) -> dict[str, Any]:
    return {v["visitor_id"]: v for v in (await agent.ok("GET", "/api/visitors/live"))["visitors"]}


async def test_visitors_appear_with_their_page_and_leave(server: TestServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(presence, "LEAVE_GRACE", 0.2)
    agent = await new_agent(server, "Lee")
    await agent.connect()
    visitor = Visitor(rapport=True)
    await visitor.connect(base(server))
    try:
        await visitor.sio.emit(
            "page_view", {"url": "http://127.0.0.1/products/tents", "title": "Tents"}
        )
        await agent.wait_for("live_visitors_changed", timeout=10)
        for _ in range(50):
            seen = (await live(agent)).get(visitor.visitor_id)
            if seen and seen["page_url"]:
                break
            await asyncio.sleep(0.1)
        assert seen is not None
        assert seen["page_url"] == "http://127.0.0.1/products/tents"
        assert seen["page_title"] == "Tents"
        assert seen["returning"] is False and seen["identified"] is False
        assert seen["name"] is None and seen["conversation"] is None
        assert seen["since"]
    finally:
        await visitor.close()
    for _ in range(50):
        if visitor.visitor_id not in await live(agent):
            break
        await asyncio.sleep(0.1)
    assert visitor.visitor_id not in await live(agent)
    await agent.close()


async def test_an_agent_starts_a_chat_with_a_live_visitor(server: TestServer) -> None:
    agent = await new_agent(server, "Kim")
    await agent.set_status("online")
    await agent.connect()
    visitor = Visitor(rapport=True)
    await visitor.connect(base(server))
    try:
        status, body = await agent.call(
            "POST", f"/api/visitors/{visitor.visitor_id}/conversation", {"text": "Hi! Need a hand?"}
        )
        assert status == 201, body
        await visitor.wait_for("bot_uttered", lambda m: m.get("text") == "Hi! Need a hand?")
        await visitor.wait_for("handoff_status", lambda s: s["state"] == "assigned")
        conversation = await agent.ok("GET", f"/api/conversations/{body['conversation_id']}")
        assert conversation["conversation"]["state"] == "assigned"
        assert conversation["conversation"]["assigned_agent"]["id"] == agent.id
        row = (await live(agent))[visitor.visitor_id]
        assert row["conversation"] == {
            "id": body["conversation_id"],
            "state": "assigned",
            "agent": "Kim",
        }
        # Starting again just adds a message to the same conversation.
        status, again = await agent.call(
            "POST", f"/api/visitors/{visitor.visitor_id}/conversation", {"text": "Still there?"}
        )
        assert (status, again["conversation_id"]) == (201, body["conversation_id"])
    finally:
        await visitor.close()
        await agent.close()


async def test_hostile_start_chat_requests(server: TestServer) -> None:
    agent = await new_agent(server, "Ray")
    other = await new_agent(server, "Sam")
    marketer = await new_agent(server, "Mo", role="marketer")
    visitor = Visitor(rapport=True)
    await visitor.connect(base(server))
    try:
        path = f"/api/visitors/{visitor.visitor_id}/conversation"
        for body in ({"text": ""}, {"text": "   "}, {"text": "x" * 5001}, {}, {"text": 5}):
            status, _ = await agent.call("POST", path, body)
            assert status == 400, body
        status, body = await agent.call("POST", "/api/visitors/nobody/conversation", {"text": "hi"})
        assert (status, body["error"]) == (404, "not_found")
        # A visitor who left (after the grace for a page load): 409.
        presence.LEAVE_GRACE, grace = 0.0, presence.LEAVE_GRACE
        try:
            late = Visitor(rapport=True)
            await late.connect(base(server))
            await late.sio.call("page_view", {"url": "http://127.0.0.1/"}, timeout=10)
            await late.close()
            await asyncio.sleep(0.2)
            status, body = await agent.call(
                "POST", f"/api/visitors/{late.visitor_id}/conversation", {"text": "hi"}
            )
            assert (status, body["error"]) == (409, "conflict")
            assert "left the site" in body["message"]
        finally:
            presence.LEAVE_GRACE = grace
        status, body = await marketer.call("POST", path, {"text": "hi"})
        assert status == 403
        status, body = await marketer.call("GET", "/api/visitors/live")
        assert status == 403
        assert (await agent.call("POST", path, {"text": "Hello from Ray"}))[0] == 201
        status, body = await other.call("POST", path, {"text": "Me too"})
        assert status == 409  # Ray has it
    finally:
        await visitor.close()
        for client in (agent, other, marketer):
            await client.close()
