"""End to end with the real trained model, Rasa server, action server and chat server."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.models import Visitor as VisitorRow
from dev.devstack import Stack
from tests.integration.helpers import stored_messages
from tests.support.visitor import Visitor

pytestmark = pytest.mark.stack


def product_cards(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        p
        for r in replies
        if isinstance(r.get("custom"), dict) and r["custom"].get("type") == "product_cards"
        for p in r["custom"]["products"]
    ]


async def test_greeting_and_product_cards_are_real_and_stored(live_stack: Stack) -> None:
    visitor = Visitor(rapport=True)  # message ids are a Rapport extension
    await visitor.connect(live_stack.base_url)
    greeting = await visitor.say("hi")
    assert greeting and greeting[0].get("text")
    assert not any(r.get("custom", {}).get("type") == "assistant_unavailable" for r in greeting)

    replies = await visitor.say("show me tents")
    cards = product_cards(replies)
    assert 1 <= len(cards) <= 4
    assert all(c["category"] == "tents" and c["id"] and c["price"] > 0 for c in cards)
    await visitor.close()

    visitor_id = visitor.session_id.split(".")[0]  # type: ignore[union-attr]
    rows = await stored_messages(live_stack.config.database_url, visitor_id)
    incoming = [r for r in rows if r.direction == "visitor"]
    assert [r.text for r in incoming] == ["hi", "show me tents"]
    assert [r.intent for r in incoming] == ["greet", "find_product"]
    assert all(0 < r.confidence <= 1 for r in incoming)
    bot_ids = {r.id for r in rows if r.direction == "bot"}
    assert {r["message_id"] for r in greeting + replies} == bot_ids
    assert any(r.payload and r.payload.get("custom") for r in rows if r.direction == "bot")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"message": "x" * 2001}, "message_too_long"),
        ({"message": ""}, "empty_message"),
        ({"message": 12345}, "invalid_payload"),
        ({"message": None}, "invalid_payload"),
        ("just a string", "invalid_payload"),
        ([{"message": "hi"}], "invalid_payload"),
    ],
)
async def test_bad_input_gets_an_error_only_for_that_client(
    live_stack: Stack, payload: object, code: str
) -> None:
    bad, good = Visitor(), Visitor()
    await bad.connect(live_stack.base_url)
    await good.connect(live_stack.base_url)
    before = len(await stored_messages(live_stack.config.database_url))

    await bad.sio.emit("user_uttered", payload)
    error = await bad.next("error")
    assert error["code"] == code and error["message"]
    assert len(await stored_messages(live_stack.config.database_url)) == before

    # The server still serves everyone, including the client that misbehaved.
    assert (await good.say("hello"))[0].get("text")
    assert (await bad.say("hello"))[0].get("text")
    assert "error" not in good.received, "the other client must not see the error"
    await bad.close()
    await good.close()


async def test_healthz_is_green_with_everything_up(live_stack: Stack) -> None:
    url = live_stack.base_url + "/healthz/details"
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        body = await resp.json()
    assert resp.status == 200, body
    assert body["database"]["ok"] and body["rasa"]["ok"] and body["action_server"]["ok"]


async def test_concurrent_messages_from_one_visitor_keep_their_order(live_stack: Stack) -> None:
    visitor = Visitor()
    await visitor.connect(live_stack.base_url)
    texts = ["hi", "what are your shipping costs", "thanks", "bye"]
    for text in texts:  # fired without waiting: handlers run concurrently
        await visitor.sio.emit("user_uttered", {"message": text, "session_id": visitor.session_id})
    for _ in texts:
        await visitor.next("bot_uttered")
    await asyncio.sleep(1)
    await visitor.close()
    rows = await stored_messages(
        live_stack.config.database_url,
        visitor.session_id.split(".")[0],  # type: ignore[union-attr]
    )
    assert [r.text for r in rows if r.direction == "visitor"] == texts


async def test_card_clicks_reach_the_bot_and_the_profile(live_stack: Stack) -> None:
    visitor = Visitor()
    await visitor.connect(live_stack.base_url)
    cards = product_cards(await visitor.say("show me backpacks"))
    clicked = cards[0]["id"]
    await visitor.sio.emit(
        "card_clicked", {"session_id": visitor.session_id, "product_id": clicked}
    )

    async def clicked_in_profile() -> list[Any]:
        for _ in range(50):
            engine = create_async_engine(live_stack.config.database_url)
            async with engine.connect() as conn:
                result = await conn.execute(
                    select(VisitorRow.profile).where(VisitorRow.id == visitor.visitor_id)
                )
                row = result.scalar_one()
            await engine.dispose()
            if row.get("products_clicked"):
                clicked_ids: list[Any] = row["products_clicked"]
                return clicked_ids
            await asyncio.sleep(0.1)
        return []

    assert await clicked_in_profile() == [clicked]
    # The bot's own tracker has it too: the next turn's slots (mirrored again) keep it.
    await visitor.say("thanks")
    assert await clicked_in_profile() == [clicked]
    # A malformed click is refused without touching anything.
    await visitor.sio.emit("card_clicked", {"session_id": visitor.session_id, "product_id": ""})
    assert (await visitor.next("error"))["code"] == "invalid_payload"
    await visitor.close()


async def test_plain_rasa_clients_get_only_rasa_keys(live_stack: Stack) -> None:
    """rasa-webchat renders nothing for a bot_uttered with unknown keys."""
    visitor = Visitor()  # no capability flag, like rasa-webchat
    await visitor.connect(live_stack.base_url)
    replies = await visitor.say("hi") + await visitor.say("show me tents")
    allowed = {"text", "quick_replies", "buttons", "attachment", "custom"}
    assert replies and all(set(r) <= allowed for r in replies), replies
    assert not {"handoff_status", "agent_typing"} & set(visitor.received)
    await visitor.close()
