"""RasaClient.trigger_intent against the real stack (Rasa, action server, chat server).

A campaign opener is triggered for a connected visitor; the visitor's answer
then goes through the chat server as any message does. The campaign slots
stay in Rasa: the visitor profile the chat server mirrors does not get them,
and the chat server's transcript has no ``EXTERNAL: campaign_opener`` turn
(it stores only what it sends and receives itself).
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from chat_server.rasa_client import IntentNotInDomain, RasaClient
from dev.devstack import Stack
from tests.integration.helpers import profile_of, stored_messages
from tests.support.visitor import Visitor

pytestmark = pytest.mark.stack

CONTENT = {
    "text": "Heading out this weekend? Tents are 20% off until Sunday.",
    "quick_replies": ["Yes please", "No thanks"],
    "followup": "Great! Use code TRAIL20 at checkout.",
}


def texts(replies: list[dict[str, Any]]) -> str:
    return " ".join(r.get("text") or "" for r in replies)


async def test_an_opener_triggered_for_a_visitor_leads_the_next_turn(live_stack: Stack) -> None:
    config = live_stack.config
    visitor = Visitor()
    await visitor.connect(live_stack.base_url)
    try:
        await visitor.say("my name is Priya")  # a profile to keep clean
        async with aiohttp.ClientSession() as http:
            client = RasaClient(http, [config.rasa_url], config.action_url, config.rasa_token, 30)
            reply = await client.trigger_intent(
                visitor.visitor_id,
                "campaign_opener",
                {"campaign": "7", "campaign_variant": "b", "campaign_content": CONTENT},
            )
            assert texts(reply.messages) == CONTENT["text"]
            assert [b["title"] for b in reply.messages[0]["buttons"]] == ["Yes please", "No thanks"]
            assert reply.slots["campaign_variant"] == "b"
            assert reply.slots["name"] == "Priya"  # the same tracker as the chat's

            with pytest.raises(IntentNotInDomain):
                await client.trigger_intent(visitor.visitor_id, "no_such_intent", {})

        assert texts(await visitor.say("yes please")) == CONTENT["followup"]
        profile = await profile_of(config.database_url, visitor.visitor_id)
        assert profile["name"] == "Priya"
        assert not [k for k in profile if k.startswith("campaign")]
        transcript = [
            m.text or "" for m in await stored_messages(config.database_url, visitor.visitor_id)
        ]
        assert "yes please" in transcript
        assert not [t for t in transcript if "EXTERNAL" in t]
    finally:
        await visitor.close()
