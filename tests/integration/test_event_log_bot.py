"""What a real bot turn writes to the interaction event log (docs/analytics.md):
intents with confidence and entities, fallbacks with the text the bot did not
understand, product-card impressions and clicks by category, and leads."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from dev.devstack import Stack
from tests.integration.helpers import events_of, of_type
from tests.support.visitor import Visitor

pytestmark = pytest.mark.stack


async def test_bot_turns_log_intents_fallbacks_impressions_and_clicks(live_stack: Stack) -> None:
    visitor = Visitor(rapport=True)
    await visitor.connect(live_stack.base_url)
    try:
        await visitor.say("hi")
        replies = await visitor.say("show me red tents")
        cards = [
            p
            for r in replies
            if isinstance(r.get("custom"), dict) and r["custom"].get("type") == "product_cards"
            for p in r["custom"]["products"]
        ]
        assert cards
        await visitor.sio.emit(
            "card_clicked", {"session_id": visitor.session_id, "product_id": cards[0]["id"]}
        )
        await visitor.say("zxqv blorptang wubbafloo")
        events: list[Any] = []
        for _ in range(50):
            events = await events_of(live_stack.config.database_url, visitor.visitor_id)
            if of_type(events, "card_clicked"):
                break
            await asyncio.sleep(0.1)
    finally:
        await visitor.close()

    replied = of_type(events, "bot_replied")
    assert [r["intent"] for r in replied[:2]] == ["greet", "find_product"]
    assert all(0 < r["confidence"] <= 1 and r["latency_ms"] > 0 for r in replied)
    assert {"product_category", "color"} <= set(replied[1]["entities"])
    impressions = of_type(events, "card_impression")
    assert impressions == [
        {"product_id": c["id"], "category": "tents", "position": i} for i, c in enumerate(cards)
    ]
    assert of_type(events, "card_clicked") == [{"product_id": cards[0]["id"], "category": "tents"}]
    [fallback] = of_type(events, "bot_fallback")
    assert fallback["text"] == "zxqv blorptang wubbafloo"
    assert replied[2]["fallback"] is True
    started = [e for e in events if e.type == "conversation_started"]
    assert len(started) == 1

    # The chat server's metrics saw Rasa's answers (the stack's server is local).
    async with aiohttp.ClientSession() as http, http.get(f"{live_stack.base_url}/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    [count] = [
        line for line in text.splitlines() if line.startswith("rapport_rasa_request_seconds_count")
    ]
    assert float(count.split()[-1]) >= 3
