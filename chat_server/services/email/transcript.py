""" "Email me this conversation" (issue 25 §2): the visitor's latest
conversation, as they saw it, sent to an address that is known to be theirs.

Only a *verified* address (the site signed it: ``verified_email``) or a
*confirmed* one (its owner opened a double opt-in link) qualifies. An address
merely typed into the chat never does: anyone can type anyone's address. The
same transcript is queued once (per conversation and its newest message),
whatever is clicked.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import conversation_queries
from chat_server.db.models import Message, Visitor
from chat_server.services import consent
from chat_server.services.email import outbox
from chat_server.services.email.compose import Brand, build
from chat_server.services.email.optin import latest_record
from chat_server.services.email.outbox import Outbox

KIND = "transcript"
MAX_MESSAGES = 300


class NoConfirmedAddress(Exception):
    """The visitor has no verified or confirmed address to send it to."""


class NothingToSend(Exception):
    """The visitor has no conversation with messages yet."""


def masked(address: str) -> str:
    """``j•••@example.com``: enough for the visitor to recognise it."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}"


async def confirmed_address(session: AsyncSession, visitor: Visitor) -> str | None:
    """The visitor's verified address, else the one they confirmed by link."""
    profile = visitor.profile or {}
    if profile.get("verified_email"):
        return str(profile["verified_email"])
    if not profile.get("marketing_consent"):
        return None  # no confirmed address: the consent log is not read (session start)
    latest = await latest_record(session, visitor.id)
    if latest.get("status") == consent.GRANTED and latest.get("email"):
        return str(latest["email"])
    return None


class TranscriptMail:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], mail: Outbox, brand: Brand
    ) -> None:
        self._sessions = sessionmaker
        self._mail = mail
        self._brand = brand

    async def can_send(self, visitor_id: str) -> bool:
        """Whether the widget should offer it (mail configured, an address known)."""
        if not self._mail.enabled:
            return False
        async with self._sessions() as session:
            visitor = await session.get(Visitor, visitor_id)
            return visitor is not None and await confirmed_address(session, visitor) is not None

    async def send(self, visitor_id: str) -> tuple[str, bool]:
        """Queue the transcript; returns (the masked address, whether it was
        already queued). Raises NoConfirmedAddress or NothingToSend."""
        async with self._sessions.begin() as session:
            visitor = await session.get(Visitor, visitor_id)
            to = await confirmed_address(session, visitor) if visitor is not None else None
            if visitor is None or to is None or not self._mail.enabled:
                raise NoConfirmedAddress(visitor_id)
            conversation = await conversation_queries.latest_conversation(session, visitor_id)
            messages = (
                list(
                    await session.scalars(
                        select(Message)
                        .where(
                            Message.conversation_id == conversation.id,
                            Message.visitor_seq.is_not(None),
                        )
                        .order_by(Message.id)
                        .limit(MAX_MESSAGES)
                    )
                )
                if conversation is not None
                else []
            )
            if conversation is None or not messages:
                raise NothingToSend(visitor_id)
            row = await outbox.enqueue(
                session,
                KIND,
                self._compose(to, messages),
                visitor_id=visitor_id,
                conversation_id=conversation.id,
                dedupe_key=f"{KIND}:{conversation.id}:{messages[-1].id}",
            )
        self._mail.wake()
        return masked(to), row is None

    def _compose(self, to: str, messages: list[Message]) -> Any:
        name = self._brand.name
        lines = [
            f"{_who(m, name)} ({m.created_at:%Y-%m-%d %H:%M} UTC): {m.text or ''}"
            for m in messages
            if m.text
        ]
        return build(
            self._brand,
            to,
            f"Your conversation with {name}",
            ["Here is your conversation, as you asked.", *lines],
            footer="You asked for this email in the chat.",
            headers={"Auto-Submitted": "auto-generated"},
        )


def _who(message: Message, brand_name: str) -> str:
    return {"visitor": "You", "bot": f"{brand_name} assistant", "agent": brand_name}.get(
        message.direction, message.direction
    )
