"""Consent records through the real stack: source, text agreed to, confirmation.

A newsletter sign-up by typing the email into the bot's question is recorded
as ``chat:typed``; accepting the bot's offer with its button as
``chat:quick_reply``. Both are *pending* (double opt-in, issue 25): the
confirmation email reaches the stack's mail catcher, and only opening its
link and pressing Confirm grants the consent. All of it is in the privacy export.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from chat_server.db.email_models import OutgoingEmail
from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.models import InteractionEvent
from chat_server.services.privacy import PrivacyService
from dev.devstack import Stack
from tests.integration.helpers import events_of, of_type
from tests.support.visitor import Visitor

pytestmark = pytest.mark.stack


def texts(replies: list[dict[str, Any]]) -> str:
    return " ".join(r.get("text") or "" for r in replies)


async def caught_mail_to(stack: Stack, address: str) -> dict[str, Any]:
    """The first mail to ``address`` in the stack's mail catcher (waits for it)."""
    headers = {"Authorization": f"Bearer {stack.config.admin_token}"}
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            async with http.get(f"{stack.base_url}/api/dev/mail", headers=headers) as resp:
                assert resp.status == 200, await resp.text()
                messages: list[dict[str, Any]] = (await resp.json())["messages"]
            mine = [m for m in messages if address in m["to"]]
            if mine:
                return mine[-1]
            await asyncio.sleep(0.1)
    engine = create_engine(stack.config.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = (await session.execute(select(OutgoingEmail.__table__))).all()
    finally:
        await engine.dispose()
    raise AssertionError(f"no mail to {address}; the outbox: {rows}")


def confirm_link(mail: dict[str, Any]) -> str:
    [link] = re.findall(r"https?://\S+/email/confirm\?token=\S+", str(mail["text"]))
    return str(link)


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
    # The bot says what the visitor agrees to, and that a link was sent.
    assert "jane.consent@example.com" in confirmed
    assert "you agreed to receive our newsletter" in confirmed
    assert "sent a link" in confirmed

    events, exported = await consent_records(live_stack, visitor.visitor_id)
    assert len(events) == 1
    record = events[0]
    assert record["topic"] == "marketing_email"
    assert record["granted"] is False and record["status"] == "pending"
    assert record["email"] == "jane.consent@example.com" and record["mail"] == "sent"
    assert record["source"] == "chat:typed"
    assert record["agreed_to"] == texts(asked)
    assert "you agreed to receive our newsletter" in record["confirmation"]
    assert record["at"]
    assert exported == events
    # Not subscribed yet: no newsletter_subscribed; the address is a lead.
    logged = await events_of(live_stack.config.database_url, visitor.visitor_id)
    assert of_type(logged, "newsletter_subscribed") == []
    assert of_type(logged, "lead_captured") == [{"source": "newsletter"}]

    # The confirmation email; its link, confirmed, grants the consent.
    mail = await caught_mail_to(live_stack, "jane.consent@example.com")
    assert "Confirm" in mail["subject"]
    async with (
        aiohttp.ClientSession() as http,
        http.post(confirm_link(mail), headers={"User-Agent": "jane-test"}) as resp,
    ):
        assert resp.status == 200
    events, exported = await consent_records(live_stack, visitor.visitor_id)
    assert [(e["status"], e["granted"]) for e in events] == [("pending", False), ("granted", True)]
    assert events[1]["source"] == "email:double_opt_in"
    assert events[1]["agreed_to"] == texts(asked) and events[1]["user_agent"] == "jane-test"
    assert exported == events
    logged = await events_of(live_stack.config.database_url, visitor.visitor_id)
    assert len(of_type(logged, "newsletter_subscribed")) == 1


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
    assert [(e["source"], e["granted"], e["status"]) for e in events] == [
        ("chat:quick_reply", False, "pending")
    ]
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
