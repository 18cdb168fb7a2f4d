"""Taking a message when nobody can answer, for an agent to reply to by email.

When a visitor wants a person but no agent is online (or it is outside
``SUPPORT_HOURS``), the assistant says so honestly and offers to take a
message: the visitor's next message is the message, then an email address is
asked for (unless the profile already has one). The result is stored as a
follow-up and listed in the console. Sending the email is up to the agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db import paging
from chat_server.db.models import Conversation, Followup, Visitor, utcnow

STAGE_MESSAGE = "message"
STAGE_EMAIL = "email"
CANCEL_PAYLOAD = "/deny"
# Saying one of these, alone or with a polite word or two ("Cancel.",
# "cancel please", "no, thank you!", "ok never mind"), leaves the flow. A
# sentence that goes on ("cancel my order #123", "stop sending me emails") is
# a message for the team, so it is taken, not read as a cancel.
_CANCEL_PHRASES = frozenset(
    {
        "cancel", "cancel it", "cancel that", "cancel this", "cancelled", "canceled",
        "stop", "stop it", "stop this", "stop that", "quit", "exit", "abort",
        "never mind", "nevermind", "nvm", "nm", "forget it", "forget about it",
        "forget that", "no", "nope", "nah", "no thanks", "no thank you", "no thx",
        "no ty", "not now", "no need", "dont bother", "don't bother", "i changed my mind",
        "changed my mind", "leave it", "skip", "skip it", "go back", "back",
    }
)  # fmt: skip
_POLITE = re.compile(
    r"^(?:(?:ok(?:ay)?|oh|um+|uh+|well|actually|please|pls|plz|just|sorry|hmm+|i said|"
    r"thanks|thank you|thx|ty)\s+)+|(?:\s+(?:please|pls|plz|thanks|thank you|thx|ty|then|"
    r"anyway|for now|now))+$"
)
_NOT_WORDS = re.compile(r"[^\w\s']+")
_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
CANCEL_BUTTON = {"title": "No thanks", "payload": CANCEL_PAYLOAD}


@dataclass
class FollowupStep:
    """What to say after one visitor message of the follow-up dialogue."""

    replies: list[dict[str, Any]] = field(default_factory=list)
    created: Followup | None = None


def offer(conversation: Conversation, hours: str | None, bot_down: bool = False) -> dict[str, Any]:
    """Start taking a message; returns the bot_uttered payload that says so."""
    conversation.followup_stage = STAGE_MESSAGE
    conversation.followup_text = None
    when = f" We're here {hours}." if hours else ""
    first = (
        "Sorry, our assistant is unavailable right now, and nobody from our team is online either."
        if bot_down
        else "Nobody from our team is online right now, so I can't bring in a person at the moment."
    )
    return {
        "text": f"{first}{when} If you like, type your message here and leave your email "
        "address, and we'll get back to you by email.",
        "quick_replies": [{"content_type": "text", **CANCEL_BUTTON}],
        "custom": {"type": "followup_offer"},
    }


def is_cancel(text: str) -> bool:
    """Whether a visitor message means "leave the leave-a-message flow".

    Case, punctuation, quotes, emoji and a polite word or two around the
    phrase do not matter; any other content makes it a message.
    """
    if text.strip() == CANCEL_PAYLOAD:
        return True
    words = " ".join(_NOT_WORDS.sub(" ", text.lower().replace("\u2019", "'")).split())
    if len(words) > 40:
        return False
    previous = None
    while words != previous:
        previous, words = words, _POLITE.sub("", words).strip()
    return words in _CANCEL_PHRASES


def _email(text: str) -> str | None:
    match = _EMAIL_IN_TEXT.search(text)
    if not match:
        return None
    try:
        return validate_email(match.group(0), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


async def continue_followup(
    session: AsyncSession, conversation: Conversation, visitor: Visitor | None, text: str
) -> FollowupStep:
    """Handle one visitor message while a message is being taken."""
    step = FollowupStep()
    if is_cancel(text):
        conversation.followup_stage = None
        conversation.followup_text = None
        step.replies.append({"text": "No problem. I'm still here if there's anything else."})
        return step
    if conversation.followup_stage == STAGE_MESSAGE:
        conversation.followup_text = text
        email = _email(text) or (visitor.email if visitor else None)
    else:
        email = _email(text)
        if email is None:
            step.replies.append(
                {
                    "text": "That doesn't look like an email address. Could you check it? "
                    '(Or say "cancel".)',
                    "quick_replies": [{"content_type": "text", **CANCEL_BUTTON}],
                }
            )
            return step
    if email is None:
        conversation.followup_stage = STAGE_EMAIL
        step.replies.append({"text": "Thanks! What email address should we reply to?"})
        return step
    followup = Followup(
        visitor_id=conversation.visitor_id,
        conversation_id=conversation.id,
        email=email,
        message=conversation.followup_text or text,
        status="open",
        created_at=utcnow(),
    )
    session.add(followup)
    conversation.followup_stage = None
    conversation.followup_text = None
    await session.flush()
    step.created = followup
    step.replies.append(
        {"text": f"Thanks — we've got your message and will reply to {email} as soon as we can."}
    )
    return step


def followup_json(followup: Followup) -> dict[str, Any]:
    return {
        "id": followup.id,
        "visitor_id": followup.visitor_id,
        "conversation_id": followup.conversation_id,
        "email": followup.email,
        "message": followup.message,
        "status": followup.status,
        "created_at": followup.created_at.isoformat(),
        "done_at": followup.done_at.isoformat() if followup.done_at else None,
    }


async def list_followups(
    session: AsyncSession, status: str, limit: int = 100, cursor: str | None = None
) -> tuple[list[Followup], str | None]:
    """A page of follow-ups with ``status``, newest first, and the next page's
    cursor (None at the end). Raises paging.BadCursor."""
    ordering = paging.FOLLOWUPS[status]
    query = ordering.apply(select(Followup).where(Followup.status == status), limit, cursor)
    rows = list(await session.scalars(query))
    return ordering.page(rows, limit, lambda f: (f.created_at, f.id))
