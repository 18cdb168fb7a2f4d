"""Consent records through the real stack: source, text agreed to, confirmation.

A newsletter sign-up by typing the email into the bot's question is recorded
as ``chat:typed``; accepting the bot's offer with its button as
``chat:quick_reply``. Both are visible in the privacy export.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.models import InteractionEvent
from chat_server.services.privacy import PrivacyService
from dev.devstack import Stack
from tests.integration.helpers import events_of, of_type
from tests.support.visitor import Visitor

pytestmark = pytest.mark.stack


def texts(replies: list[dict[str, Any]]) -> str:
    return " ".join(r.get("text") or "" for r in replies)


async def consent_records(
    stack: Stack, visitor_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the consent_changed events, the export's consent_records) of a visitor."""
    engine = create_engine(stack.config.database_url)
    try:
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            events = list(
                await session.scalars(
                    select(InteractionEvent.data).where(
                        InteractionEvent.visitor_id == visitor_id,
                        InteractionEvent.type == "consent_changed",
                    )
                )
            )
        export = await PrivacyService(sessions).export(visitor_id)
    finally:
        await engine.dispose()
    return events, export["consent_records"]


async def test_typed_sign_up_records_source_and_text(live_stack: Stack) -> None:
    visitor = Visitor()
    await visitor.connect(live_stack.base_url)
    try:
        asked = await visitor.say("/subscribe_newsletter")  # the bot's button payload
        assert "What email address" in texts(asked)
        confirmed = texts(await visitor.say("it's jane.consent@example.com"))
    finally:
        await visitor.close()
    # The bot says what the visitor agreed to.
    assert "jane.consent@example.com" in confirmed
    assert "you agreed to receive our newsletter" in confirmed

    events, exported = await consent_records(live_stack, visitor.visitor_id)
    assert len(events) == 1
    record = events[0]
    assert record["topic"] == "marketing_email"
    assert record["granted"] is True
    assert record["source"] == "chat:typed"
    assert record["agreed_to"] == texts(asked)
    assert "you agreed to receive our newsletter" in record["confirmation"]
    assert record["at"]
    assert exported == events
    # Analytics: one sign-up, one lead.
    logged = await events_of(live_stack.config.database_url, visitor.visitor_id)
    assert len(of_type(logged, "newsletter_subscribed")) == 1
    assert of_type(logged, "lead_captured") == [{"source": "newsletter"}]


async def test_quick_reply_acceptance_records_quick_reply(live_stack: Stack) -> None:
    visitor = Visitor()
    await visitor.connect(live_stack.base_url)
    try:
        offer = await visitor.say("my email is sam.consent@example.com")
        assert "Would you like our newsletter" in texts(offer)
        buttons = [b for r in offer for b in r.get("quick_replies") or r.get("buttons") or []]
        assert any(b.get("payload") == "/affirm" for b in buttons)
        confirmed = texts(await visitor.say("/affirm"))
    finally:
        await visitor.close()
    assert "you agreed to receive our newsletter" in confirmed

    events, exported = await consent_records(live_stack, visitor.visitor_id)
    assert [(e["source"], e["granted"]) for e in events] == [("chat:quick_reply", True)]
    assert "Would you like our newsletter at sam.consent@example.com" in events[0]["agreed_to"]
    assert exported == events


async def test_leaving_an_email_for_a_reply_records_that_consent(live_stack: Stack) -> None:
    visitor = Visitor()
    await visitor.connect(live_stack.base_url)
    try:
        replies = await visitor.say("can I talk to a real person please", quiet=1.5)
        assert "Nobody from our team is online" in replies[-1]["text"], replies
        asked = await visitor.say("My tent pole arrived broken, can someone write to me?")
        assert "What email address" in asked[0]["text"]
        done = texts(await visitor.say("sam.reply@example.com"))
    finally:
        await visitor.close()
    events, exported = await consent_records(live_stack, visitor.visitor_id)
    assert [(e["topic"], e["granted"], e["source"]) for e in events] == [
        ("followup_reply", True, "chat:typed")
    ]
    assert events[0]["agreed_to"] == asked[0]["text"]
    assert events[0]["confirmation"] == done
    assert exported == events
