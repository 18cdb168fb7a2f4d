"""An agent sees which campaign and variant opened a conversation: the
conversation's summary (REST and socket) carries campaign_id, campaign_arm
and the campaign's name, all null when the visitor started it."""

from __future__ import annotations

import aiohttp
from aiohttp.test_utils import TestServer

from chat_server.db.engagement_models import Campaign
from chat_server.db.models import Conversation, Visitor
from tests.integration.conftest import ADMIN_TOKEN, base
from tests.support.agents import AgentClient, create_agent
from tests.support.rows import insert


async def test_a_conversation_opened_by_a_campaign_names_it_and_its_variant(
    server: TestServer, database_url: str
) -> None:
    (campaign_id,) = await insert(
        database_url,
        [Campaign(name="Tents for returning visitors", status="running", variants=[], goal={})],
    )
    opened, started = await insert(
        database_url,
        [
            Visitor(id="camp-visitor-1", profile={}),
            Visitor(id="camp-visitor-2", profile={}),
            Conversation(
                visitor_id="camp-visitor-1", state="bot", campaign_id=campaign_id, campaign_arm="B"
            ),
            Conversation(visitor_id="camp-visitor-2", state="bot"),
        ],
    )
    async with aiohttp.ClientSession() as http:
        data = await create_agent(http, base(server), ADMIN_TOKEN, name="Ada")
    agent = await AgentClient(base(server), data["username"]).login()
    try:
        body = await agent.ok("GET", f"/api/conversations/{opened}")
        summary = body.get("conversation", body)
        assert summary["campaign_id"] == campaign_id
        assert summary["campaign_arm"] == "B"
        assert summary["campaign_name"] == "Tents for returning visitors"
        plain = await agent.ok("GET", f"/api/conversations/{started}")
        plain = plain.get("conversation", plain)
        assert (plain["campaign_id"], plain["campaign_arm"], plain["campaign_name"]) == (
            None,
            None,
            None,
        )
    finally:
        await agent.close()
