"""A bot opener through the real Rasa (live stack: action server, Rasa, chat server).

The treatment visitor gets the opener Rasa's ``action_campaign_opener`` utters
for the variant's content (``trigger_intent``, no output channel), stored in a
new conversation that names the campaign and arm, delivered as a bot turn and
announced with ``campaign_shown``; their reply is ``campaign_replied``. The
control visitor is logged as "would have shown" (Rasa was up) and gets nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.models import Conversation
from chat_server.services.campaigns.engine import arm_for
from dev.devstack import Stack
from tests.integration.helpers import stored_messages
from tests.support.campaigns import add_campaign, campaign_events, campaign_values, live
from tests.support.visitor import Visitor

pytestmark = pytest.mark.stack

PAGE = "http://127.0.0.1/products/opener-test"
OPENER = "Hi from the campaign test! Need a hand choosing?"


async def conversations_of(database_url: str, visitor_id: str) -> list[Any]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(Conversation).where(Conversation.visitor_id == visitor_id)
            )
            return list(rows.all())
    finally:
        await engine.dispose()


async def fire(visitor: Visitor, campaign_id: int) -> None:
    await visitor.sio.emit("page_view", {"url": PAGE})
    watch = await visitor.wait_for(
        "campaign_watch", lambda w: w["campaign_id"] == campaign_id, timeout=15
    )
    await visitor.sio.emit(
        "campaign_ready", {"campaign_id": campaign_id, "token": watch["token"], "url": PAGE}
    )


async def test_treatment_gets_the_bot_opener_and_control_is_counted(live_stack: Stack) -> None:
    database_url = live_stack.config.database_url
    values = campaign_values(
        name="opener stack test",
        kind="bot",
        priority=900,
        holdout=0.5,
        rules={"url_include": ["http://127.0.0.1/products/opener-*"]},
        variants=[
            {
                "key": "A",
                "weight": 1.0,
                "content": {"text": OPENER, "quick_replies": ["Yes please", "No thanks"]},
            }
        ],
        goal={"type": "reply", "window_hours": 24},
    )
    campaign_id = await add_campaign(database_url, **values)
    # New visitors until one is in each arm (the hash decides; half and half).
    by_arm: dict[str, Visitor] = {}
    visitors: list[Visitor] = []
    try:
        while len(by_arm) < 2:
            visitor = Visitor(rapport=True)
            visitors.append(visitor)
            await visitor.connect(live_stack.config.chat_url)
            by_arm.setdefault(arm_for(live(values, campaign_id), visitor.visitor_id), visitor)
        treatment, control = by_arm["A"], by_arm["control"]

        await fire(treatment, campaign_id)
        await fire(control, campaign_id)
        shown = await treatment.wait_for("campaign_shown", timeout=30)
        assert (shown["campaign_id"], shown["arm"], shown["kind"]) == (campaign_id, "A", "bot")
        assert shown["message"]["text"] == OPENER
        opener = await treatment.wait_for("bot_uttered", lambda m: m.get("text") == OPENER)
        assert [q["title"] for q in opener.get("quick_replies", [])] == ["Yes please", "No thanks"]
        [conversation] = await conversations_of(database_url, treatment.visitor_id)
        assert (conversation.campaign_id, conversation.campaign_arm) == (campaign_id, "A")
        assert conversation.id == shown["conversation_id"]
        stored = await stored_messages(database_url, treatment.visitor_id)
        assert [(m.direction, m.text) for m in stored][:1] == [("bot", OPENER)]

        await treatment.say("Yes please")
        events = await campaign_events(database_url)
        mine = [e for e in events if e.visitor_id == treatment.visitor_id]
        assert [e.type for e in mine] == [
            "campaign_eligible",
            "campaign_assigned",
            "campaign_exposed",
            "campaign_shown",
            "campaign_replied",
            "campaign_converted",
        ]
        assert mine[2].data["shown"] is True

        theirs = [e for e in events if e.visitor_id == control.visitor_id]
        assert [e.type for e in theirs] == [
            "campaign_eligible",
            "campaign_assigned",
            "campaign_exposed",
        ]
        assert theirs[2].data == {**theirs[2].data, "arm": "control", "shown": False}
        assert control.seen("campaign_shown") == [] and control.seen("bot_uttered") == []
        assert await conversations_of(database_url, control.visitor_id) == []
    finally:
        for visitor in visitors:
            await visitor.close()
