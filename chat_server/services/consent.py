"""Consent records: every change of a visitor's consent, with where it came from.

Each change is an interaction event ``consent_changed`` whose data says what
the consent is about (``topic``), whether it was given, its ``source`` (how
the visitor expressed it), when, the text the visitor agreed to, and the
confirmation they were shown. The console's visitor panel and the privacy
export list these records; retention deletes them with the other events.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db import event_queries
from chat_server.db.models import InteractionEvent, utcnow
from chat_server.services.segments import traits

EVENT = "consent_changed"

# topics
MARKETING = "marketing_email"  # the newsletter
FOLLOWUP_REPLY = "followup_reply"  # "reply to my message by email"

# sources
QUICK_REPLY = "chat:quick_reply"  # a button of the bot's message
TYPED = "chat:typed"  # typed by the visitor
IDENTITY_CLAIM = "identity_claim"  # given before, while anonymous; kept on login
AGENT = "agent"  # changed by an agent for the visitor
DOUBLE_OPT_IN = "email:double_opt_in"  # the link in the confirmation email, opened
UNSUBSCRIBE = "email:unsubscribe"  # the unsubscribe link of a marketing email
VERIFIED_BY_SITE = "identity:verified_email"  # asked for the address the site verified and signed

# status of a marketing consent record (docs/email.md, "Double opt-in")
PENDING = "pending"  # asked for; a confirmation email is on its way
GRANTED = "granted"
WITHDRAWN = "withdrawn"


def chat_source(visitor_text: str) -> str:
    """Where a consent given in answer to ``visitor_text`` came from.

    The widget sends a quick reply as its payload (``/affirm``). A visitor
    can type that syntax too; restricting typed ``/intent`` text to what the
    quick replies send (issue 8, hostile input) makes this exact.
    """
    return QUICK_REPLY if visitor_text.startswith("/") else TYPED


async def record(
    session: AsyncSession,
    visitor_id: str,
    conversation_id: int | None,
    *,
    topic: str,
    granted: bool,
    source: str,
    agreed_to: str | None,
    confirmation: str | None = None,
    at: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Log one consent change (in the caller's transaction); ``details`` adds
    to the record (the address, the status, the evidence of a confirmation)."""
    await event_queries.log_event(
        session,
        EVENT,
        visitor_id,
        conversation_id,
        {
            "topic": topic,
            "granted": granted,
            "source": source,
            "at": at or utcnow().isoformat(timespec="seconds"),
            "agreed_to": agreed_to,
            "confirmation": confirmation,
            **(details or {}),
        },
    )
    if topic == MARKETING:
        await traits.set_traits(session, visitor_id, utcnow(), consent=granted)


async def history(session: AsyncSession, visitor_id: str) -> list[dict[str, Any]]:
    """The visitor's consent records, oldest first."""
    rows = await session.scalars(
        select(InteractionEvent)
        .where(InteractionEvent.visitor_id == visitor_id, InteractionEvent.type == EVENT)
        .order_by(InteractionEvent.id)
    )
    return [dict(r.data or {}) for r in rows]
