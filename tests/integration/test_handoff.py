"""Handoff with the real bot: every trigger, the way back, and what the bot keeps of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from dev.devstack import Stack
from tests.integration.helpers import stored_events
from tests.support.agents import AgentClient, create_agent
from tests.support.rasa_sessions import rasa_tracker
from tests.support.visitor import Visitor

pytestmark = pytest.mark.stack


async def tracker_texts(stack: Stack, visitor_id: str) -> list[tuple[str, str | None]]:
    events = (await rasa_tracker(stack, visitor_id))["events"]
    return [(e["event"], e.get("text")) for e in events if e["event"] in ("user", "bot")]


@pytest.fixture
async def agent(live_stack: Stack) -> AsyncIterator[AgentClient]:
    """An online agent with a live socket; offline again afterwards (the stack is shared)."""
    async with aiohttp.ClientSession() as http:
        data = await create_agent(
            http, live_stack.base_url, live_stack.config.admin_token, name="Alex", max_chats=5
        )
    client = await AgentClient(live_stack.base_url, data["username"]).login()
    await client.connect()
    await client.set_status("online")
    yield client
    await client.set_status("offline")
    await client.close()


async def say_quietly(visitor: Visitor, text: str) -> None:
    await visitor.sio.emit("user_uttered", {"message": text, "session_id": visitor.session_id})


async def test_asking_for_a_person_reaches_an_agent_and_the_bot_resumes_knowing(
    live_stack: Stack, agent: AgentClient
) -> None:
    visitor = Visitor(rapport=True)
    await visitor.connect(live_stack.base_url)
    try:
        await visitor.say("hi")
        mark = len(visitor.log)
        await say_quietly(visitor, "I want to talk to a human")
        assignment = await agent.wait_for("assignment")
        cid = assignment["conversation"]["id"]
        assert assignment["reason"] == "requested"
        assert (await visitor.wait_for("handoff_status", after=mark))["state"] in (
            "queued",
            "assigned",
        )
        assert (
            await visitor.wait_for("handoff_status", lambda s: s["state"] == "assigned", after=mark)
        )["agent_name"] == "Alex"
        # The internal control payload never reaches the visitor.
        assert not any("handoff" in (m.get("custom") or {}) for m in visitor.seen("bot_uttered"))

        # The agent sees what the bot saw: history with intents, and the profile.
        detail = await agent.ok("GET", f"/api/conversations/{cid}")
        assert detail["context"]["handoff_reason"] == "requested"
        transcript = (await agent.ok("GET", f"/api/conversations/{cid}/messages"))["messages"]
        asked = [m for m in transcript if m["text"] == "I want to talk to a human"]
        assert asked and asked[0]["intent"] == "request_human" and asked[0]["confidence"] > 0.5

        await agent.emit("typing", {"conversation_id": cid, "typing": True})
        assert (await visitor.wait_for("agent_typing", lambda t: t["typing"]))["name"] == "Alex"
        sent = await agent.emit(
            "send_message",
            {
                "conversation_id": cid,
                "text": "Hi! Here's 10% off for the wait: SAVE10",
            },
        )
        assert sent["ok"] and sent["message"]["direction"] == "agent"
        reply = await visitor.wait_for("bot_uttered", lambda m: "SAVE10" in (m.get("text") or ""))
        assert reply["sender"] == {"type": "agent", "name": "Alex"}

        bot_replies_before = len(visitor.seen("bot_uttered"))
        await say_quietly(visitor, "thanks! my order number is TR-10031")
        await agent.wait_for(
            "message_created", lambda m: "TR-10031" in (m["message"]["text"] or "")
        )
        await asyncio.sleep(1)
        assert len(visitor.seen("bot_uttered")) == bot_replies_before  # the bot stays silent

        mark = len(visitor.log)
        await agent.ok("POST", f"/api/conversations/{cid}/resolve")
        request = await visitor.wait_for("csat_request", after=mark)
        await visitor.sio.emit(
            "csat_submitted",
            {
                "conversation_id": request["conversation_id"],
                "score": 4,
                "comment": "quick, thanks",
            },
        )
        await visitor.wait_for("csat_recorded")
        detail = await agent.ok("GET", f"/api/conversations/{cid}")
        assert detail["conversation"]["csat"] == {"score": 4, "comment": "quick, thanks"}
        assert detail["conversation"]["state"] == "resolved"

        # The next message goes to the bot again, in a new conversation.
        replies = await visitor.say("how much is shipping?")
        assert any("shipping" in (r.get("text") or "").lower() for r in replies)
        assert all(r["sender"] == {"type": "bot"} for r in replies)

        # The bot's tracker heard the human phase, and kept the order id.
        texts = await tracker_texts(live_stack, visitor.visitor_id)
        assert ("bot", "Hi! Here's 10% off for the wait: SAVE10") in texts
        assert ("user", "thanks! my order number is TR-10031") in texts
        slots = (await rasa_tracker(live_stack, visitor.visitor_id))["slots"]
        assert slots["order_id"] == "TR-10031"
        transitions = [
            e.data
            for e in await stored_events(live_stack.config.database_url, "handoff_transition")
            if e.conversation_id == cid
        ]
        assert [(t["from"], t["to"], t["reason"]) for t in transitions] == [
            ("bot", "queued", "requested"),
            ("queued", "assigned", "requested"),
            ("assigned", "resolved", "requested"),
        ]
        assert transitions[0]["actor"] == {"kind": "visitor"}
        assert transitions[2]["actor"]["name"] == "Alex"
    finally:
        await visitor.close()


async def test_a_complaint_brings_in_a_person(live_stack: Stack, agent: AgentClient) -> None:
    visitor = Visitor()  # a plain Rasa client hears it in words
    await visitor.connect(live_stack.base_url)
    try:
        replies = await visitor.say(
            "this is terrible, I'm really angry with your service", quiet=1.5
        )
        texts = [r.get("text") or "" for r in replies]
        assert any("sorry" in t.lower() for t in texts), texts
        assert any("Alex from our team has joined" in t for t in texts), texts
        assignment = await agent.wait_for("assignment")
        assert assignment["reason"] == "complaint"
        await agent.ok("POST", f"/api/conversations/{assignment['conversation']['id']}/handback")
    finally:
        await visitor.close()


async def test_two_fallbacks_in_a_row_bring_in_a_person(
    live_stack: Stack, agent: AgentClient
) -> None:
    visitor = Visitor(rapport=True)
    await visitor.connect(live_stack.base_url)
    try:
        first = await visitor.say("blorp zzkx qwv")
        # Not understood (fallback) or out of scope: either way the bot could not help.
        assert any(
            ("didn't quite get that" in (r.get("text") or ""))
            or ("outside what I can help with" in (r.get("text") or ""))
            for r in first
        ), first
        assert not agent.seen("assignment")
        await visitor.say("flibber jabberwock snark")
        assignment = await agent.wait_for("assignment")
        assert assignment["reason"] == "fallback"
        cid = assignment["conversation"]["id"]
        await agent.ok("POST", f"/api/conversations/{cid}/handback")
    finally:
        await visitor.close()


async def test_barge_in_and_hand_back_without_resolving(
    live_stack: Stack, agent: AgentClient
) -> None:
    visitor = Visitor(rapport=True)
    await visitor.connect(live_stack.base_url)
    try:
        await visitor.say("hi")
        await visitor.say("show me tents")
        # Bot conversations are listed live for agents to watch.
        update = await agent.wait_for(
            "conversation_updated",
            lambda u: u["conversation"]["visitor_id"] == visitor.visitor_id,
        )
        cid = update["conversation"]["id"]
        listing = await agent.ok("GET", "/api/conversations?view=bot")
        assert cid in [c["id"] for c in listing["conversations"]]
        watched = await agent.emit("watch", {"conversation_id": cid})
        assert watched["ok"]
        await visitor.say("any in green?")
        await agent.wait_for("message_created", lambda m: m["message"]["text"] == "any in green?")

        await agent.ok("POST", f"/api/conversations/{cid}/accept")
        assert (await visitor.wait_for("handoff_status", lambda s: s["state"] == "assigned"))[
            "agent_name"
        ] == "Alex"
        await agent.ok(
            "POST",
            f"/api/conversations/{cid}/messages",
            {"text": "I can check stock for you. Which size?"},
        )
        await agent.ok(
            "POST",
            f"/api/conversations/{cid}/messages",
            {"text": "Note to self: VIP customer", "note": True},
        )
        await agent.ok("POST", f"/api/conversations/{cid}/handback")
        replies = await visitor.say("what are your current promotions?")
        assert replies and all(r["sender"]["type"] == "bot" for r in replies)
        assert "Note to self" not in str(visitor.log)
        detail = await agent.ok("GET", f"/api/conversations/{cid}")
        assert detail["conversation"]["state"] == "bot"  # handed back, not resolved
        assert detail["context"]["products_shown"]  # what the bot showed is in the panel
        texts = await tracker_texts(live_stack, visitor.visitor_id)
        assert ("bot", "I can check stock for you. Which size?") in texts
        assert ("bot", "Note to self: VIP customer") not in texts
    finally:
        await visitor.close()


async def test_nobody_online_the_bot_takes_a_message(live_stack: Stack) -> None:
    # An agent who is away still sees follow-ups arrive, but takes no chats.
    async with aiohttp.ClientSession() as http:
        data = await create_agent(
            http, live_stack.base_url, live_stack.config.admin_token, name="Away"
        )
    away = await AgentClient(live_stack.base_url, data["username"]).login()
    await away.connect()
    await away.set_status("away")
    visitor = Visitor()
    await visitor.connect(live_stack.base_url)
    try:
        replies = await visitor.say("can I talk to a real person please", quiet=1.5)
        offer = replies[-1]
        assert "Nobody from our team is online" in offer["text"], replies
        assert offer["quick_replies"][0]["title"] == "No thanks"
        assert not any("in line" in (r.get("text") or "") for r in replies)
        asked = await visitor.say("My tent pole arrived broken, can someone call me back?")
        assert "What email address" in asked[0]["text"]
        wrong = await visitor.say("not telling")
        assert "doesn't look like an email" in wrong[0]["text"]
        done = await visitor.say("sam.doe@example.com")
        assert "sam.doe@example.com" in done[0]["text"]
        created = await away.wait_for("followup_created")
        followup = created["followup"]
        assert followup["email"] == "sam.doe@example.com"
        assert followup["message"] == "My tent pole arrived broken, can someone call me back?"
        listed = await away.ok("GET", "/api/followups")
        assert followup["id"] in [f["id"] for f in listed["followups"]]
        await away.ok("POST", f"/api/followups/{followup['id']}/done")
        # And the bot is back for whatever comes next.
        replies = await visitor.say("how much is shipping?")
        assert any("shipping" in (r.get("text") or "").lower() for r in replies)
    finally:
        await away.close()
        await visitor.close()
