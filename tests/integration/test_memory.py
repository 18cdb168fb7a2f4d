"""The bot remembers a visitor across sessions and across restarts of every process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import column, func, select, table
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.models import InteractionEvent
from dev.devstack import Stack
from tests.conftest import make_stack
from tests.integration.helpers import profile_of
from tests.integration.test_stack import product_cards
from tests.support.rasa_sessions import start_new_session
from tests.support.tokens import tampered
from tests.support.visitor import Visitor

# Rasa's tracker store table, in the same database.
RASA_EVENTS = table("events", column("sender_id"))

# One worker runs the module (tests/conftest.py): its stack starts once per session.
pytestmark = [pytest.mark.stack, pytest.mark.xdist_group("memory")]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with make_stack(tmp_path_factory.mktemp("memory")) as s:
        yield s


def texts(replies: list[dict[str, Any]]) -> str:
    return " ".join(r.get("text") or "" for r in replies)


async def test_returning_visitor_is_greeted_by_name_after_restarting_everything(
    stack: Stack,
) -> None:
    first = Visitor()
    await first.connect(stack.base_url)
    await first.say("hi")
    await first.say("my name is Priya")
    cards = product_cards(await first.say("I'm looking for a tent"))
    assert cards and all(c["category"] == "tents" for c in cards)
    await first.say("my budget is 300 dollars")
    await first.say("my email is priya@example.com")
    await first.close()

    profile = await profile_of(stack.config.database_url, first.visitor_id)
    assert profile["name"] == "Priya"
    assert profile["email"] == "priya@example.com"
    assert "tents" in profile["interests"]
    assert float(profile["budget"]) == 300

    # Restart every process; only the database survives.
    await asyncio.to_thread(stack.stop)
    await asyncio.to_thread(stack.start)

    returning = Visitor()
    await returning.connect(stack.base_url, session_id=first.session_id)
    assert returning.session_id == first.session_id
    greeting = texts(await returning.say("hi"))
    assert "Priya" in greeting
    assert "tent" in greeting.lower()
    recommended = product_cards(await returning.say("what would you recommend for me?"))
    assert recommended, "the returning visitor gets recommendations"
    assert all(c["category"] == "tents" and c["price"] <= 300 for c in recommended)
    await returning.close()

    stranger = Visitor()
    await stranger.connect(stack.base_url)
    hello = texts(await stranger.say("hi"))
    assert "Priya" not in hello and "welcome back" not in hello.lower()
    await stranger.close()

    forger = Visitor()
    forged_id = tampered(first.session_id)  # type: ignore[arg-type]
    confirm = await forger.connect(stack.base_url, session_id=forged_id)
    assert confirm["session_id"] != first.session_id
    assert "Priya" not in texts(await forger.say("hi"))
    assert "history" not in forger.received
    await forger.close()


async def test_memory_survives_many_sessions_while_the_loaded_tracker_stays_bounded(
    stack: Stack,
) -> None:
    visitor = Visitor()
    await visitor.connect(stack.base_url)
    await visitor.say("hi, my name is Alex")
    await visitor.say("I'm looking for a backpack")
    small_talk = ["how much is shipping", "thanks", "what is your return policy", "bye"]
    async with aiohttp.ClientSession() as http:
        for _ in range(12):
            await start_new_session(http, stack, visitor.visitor_id)
            for text in small_talk:
                await visitor.say(text)
        await start_new_session(http, stack, visitor.visitor_id)

    greeting = texts(await visitor.say("hello"))
    assert "Alex" in greeting
    assert "backpack" in greeting.lower()
    await visitor.close()

    # What Rasa loads for a turn is the latest session only: as small in the
    # 13th session as in the 2nd, while everything stays stored.
    engine = create_async_engine(stack.config.database_url)
    try:
        async with engine.connect() as conn:
            replied = (
                (
                    await conn.execute(
                        select(InteractionEvent.data)
                        .where(
                            InteractionEvent.visitor_id == visitor.visitor_id,
                            InteractionEvent.type == "bot_replied",
                        )
                        .order_by(InteractionEvent.id)
                    )
                )
                .scalars()
                .all()
            )
            stored_events = (
                await conn.execute(
                    select(func.count())
                    .select_from(RASA_EVENTS)
                    .where(RASA_EVENTS.c.sender_id == visitor.visitor_id)
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    sizes = [d["tracker_events"] for d in replied]
    assert len(sizes) == 2 + 12 * len(small_talk) + 1
    per_session = [sizes[2 + i * 4 : 2 + (i + 1) * 4] for i in range(12)]
    assert per_session[-1] == per_session[0], per_session  # same turns, same tracker size
    assert max(sizes) < 80, sizes
    assert stored_events > 5 * max(sizes)
