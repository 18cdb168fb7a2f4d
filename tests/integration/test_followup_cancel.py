"""Cancelling the leave-a-message flow, the ways people type it, with the real bot.

Nobody is online, so asking for a person starts the flow (see
test_handoff.py::test_nobody_online_the_bot_takes_a_message). Saying "cancel"
in any usual form, at the message step or at the email step, must leave it:
the bot answers the next message and no follow-up is stored.
"""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.models import Conversation, utcnow
from dev.devstack import Stack
from tests.support.agents import AgentClient, create_agent
from tests.support.visitor import Visitor

pytestmark = pytest.mark.stack


async def open_followups(stack: Stack) -> list[dict[str, str]]:
    async with aiohttp.ClientSession() as http:
        data = await create_agent(http, stack.base_url, stack.config.admin_token, name="Reader")
    reader = await AgentClient(stack.base_url, data["username"]).login()
    try:
        listed = await reader.ok("GET", "/api/followups")
    finally:
        await reader.close()
    return list(listed["followups"])


async def start_flow(visitor: Visitor) -> None:
    replies = await visitor.say("can I talk to a real person please", quiet=1.5)
    assert "Nobody from our team is online" in replies[-1]["text"], replies


@pytest.mark.parametrize("cancel", ["cancel please", "No, thank you!", "Forget it."])
async def test_cancel_at_the_message_step(live_stack: Stack, cancel: str) -> None:
    visitor = Visitor()
    await visitor.connect(live_stack.base_url)
    try:
        await start_flow(visitor)
        left = await visitor.say(cancel)
        assert "No problem" in left[0]["text"], left
        after = await visitor.say("how much is shipping?")
        assert not any("email address" in (r.get("text") or "") for r in after), after
        assert any("shipping" in (r.get("text") or "").lower() for r in after), after
        stored = [
            f for f in await open_followups(live_stack) if f["visitor_id"] == visitor.visitor_id
        ]
        assert stored == []
    finally:
        await visitor.close()


async def test_cancel_at_the_email_step(live_stack: Stack) -> None:
    visitor = Visitor()
    await visitor.connect(live_stack.base_url)
    try:
        await start_flow(visitor)
        asked = await visitor.say("My tent pole arrived broken, can someone call me back?")
        assert "What email address" in asked[0]["text"], asked
        left = await visitor.say("never mind, thanks")
        assert "No problem" in left[0]["text"], left
        # The address typed next is not taken as the reply-to of that message.
        after = await visitor.say("sam.doe@example.com")
        assert not any("we've got your message" in (r.get("text") or "") for r in after), after
        stored = [
            f for f in await open_followups(live_stack) if f["visitor_id"] == visitor.visitor_id
        ]
        assert stored == []
    finally:
        await visitor.close()


async def test_an_abandoned_flow_ends_with_the_visit(live_stack: Stack) -> None:
    """A visitor who walked away mid-flow and comes back after the visit ended
    (CONVERSATION_IDLE_MINUTES) is not taken down as leaving that message."""
    visitor = Visitor()
    await visitor.connect(live_stack.base_url)
    try:
        await start_flow(visitor)
        engine = create_async_engine(live_stack.config.database_url)
        try:
            async with engine.begin() as conn:  # two hours pass
                await conn.execute(
                    update(Conversation)
                    .where(Conversation.visitor_id == visitor.visitor_id)
                    .values(updated_at=utcnow() - timedelta(hours=2))
                )
        finally:
            await engine.dispose()
        after = await visitor.say("how much is shipping?")
        assert not any("email address" in (r.get("text") or "") for r in after), after
        assert any("shipping" in (r.get("text") or "").lower() for r in after), after
    finally:
        await visitor.close()
