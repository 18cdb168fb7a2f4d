"""Agent replies by email to visitors who have gone (issue 25 §2).

An agent's message that the visitor has not seen (no open widget, on any
node, since it was written) for ``EMAIL_REPLY_AFTER_SECONDS`` is emailed to
the visitor's address: the verified customer's, or the one given in the chat
(a follow-up, the bot's question). One email carries every such message of
the conversation since the last one, with the last few messages before them
for context. Its Reply-To is the conversation's own signed address
(``reply+<token>@REPLY_DOMAIN``), so the answer threads back
(services/email/inbound.py). The sweep runs on every node; the outbox's
unique ``dedupe_key`` (conversation + newest message) makes one email of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db.availability import report_failure
from chat_server.db.email_models import OutgoingEmail
from chat_server.db.models import Conversation, Followup, Message, Visitor, as_utc, utcnow
from chat_server.services.email import outbox
from chat_server.services.email.compose import Brand, build
from chat_server.services.email.outbox import Outbox

log = logging.getLogger(__name__)

KIND = "agent_reply"
REPLY_SALT = "rapport.email.reply"
CONTEXT_MESSAGES = 6
LOOK_BACK = timedelta(days=7)  # older unseen replies are not mailed any more
SWEEP_SECONDS = 15.0


class ReplyTokens:
    """The signed part of a conversation's reply address (no expiry: a
    visitor may answer a week later; the sender must still match)."""

    def __init__(self, secret: str, domain: str | None) -> None:
        self._signer = URLSafeSerializer(secret, salt=REPLY_SALT)
        self.domain = domain

    def address(self, conversation_id: int) -> str | None:
        if not self.domain:
            return None
        return f"reply+{self._signer.dumps(conversation_id)}@{self.domain}"

    def conversation(self, recipient: str) -> int | None:
        """The conversation a ``reply+<token>@`` recipient names, or None."""
        local, _, domain = recipient.strip().strip("<>").rpartition("@")
        if not local.lower().startswith("reply+") or (
            self.domain and domain.lower() != self.domain.lower()
        ):
            return None
        try:
            value = self._signer.loads(local[len("reply+") :])
        except BadSignature:
            return None
        return value if isinstance(value, int) else None


async def visitor_address(session: AsyncSession, conversation: Conversation) -> str | None:
    """Where the visitor of ``conversation`` can be written to: the address of a
    follow-up they left in it, else their profile's (verified or given)."""
    given = await session.scalar(
        select(Followup.email)
        .where(Followup.conversation_id == conversation.id)
        .order_by(Followup.id.desc())
        .limit(1)
    )
    if given:
        return str(given)
    visitor = await session.get(Visitor, conversation.visitor_id)
    return visitor.email if visitor is not None and visitor.email else None


class ReplyMailer:
    """Finds agent replies nobody has seen and queues them as email."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        mail: Outbox,
        brand: Brand,
        tokens: ReplyTokens,
        visitor_online: Callable[[str], bool],
        after_seconds: float,
        public_url: str,
        sweep_seconds: float = SWEEP_SECONDS,
    ) -> None:
        self._sessions = sessionmaker
        self._mail = mail
        self._brand = brand
        self._tokens = tokens
        self._online = visitor_online
        self._after = timedelta(seconds=after_seconds)
        self._public_url = public_url
        self._sweep = sweep_seconds

    async def run(self) -> None:
        if not self._mail.enabled:
            return
        while True:
            try:
                if await self.sweep():
                    self._mail.wake()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                report_failure(error, "reply mailer", log, "reply mail sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.sleep(self._sweep)

    async def sweep(self) -> int:
        """Queue one email per conversation with unseen agent replies; returns how many."""
        now = utcnow()
        mailed_through = (
            select(
                OutgoingEmail.conversation_id.label("cid"),
                func.max(OutgoingEmail.through_message_id).label("through"),
            )
            .where(OutgoingEmail.kind == KIND)
            .group_by(OutgoingEmail.conversation_id)
            .subquery()
        )
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Message.conversation_id, func.min(Message.created_at))
                    .outerjoin(mailed_through, mailed_through.c.cid == Message.conversation_id)
                    .where(
                        Message.direction == "agent",
                        Message.created_at >= now - LOOK_BACK,
                        Message.created_at <= now - self._after,
                        Message.id > func.coalesce(mailed_through.c.through, 0),
                    )
                    .group_by(Message.conversation_id)
                    .limit(200)
                )
            ).all()
        queued = 0
        for conversation_id, oldest in rows:
            if await self._queue(conversation_id, as_utc(oldest)):
                queued += 1
        return queued

    async def _queue(self, conversation_id: int, oldest_unmailed: Any) -> bool:
        async with self._sessions.begin() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                return False
            visitor = await session.get(Visitor, conversation.visitor_id)
            if visitor is None:
                return False
            messages = list(
                await session.scalars(
                    select(Message)
                    .where(
                        Message.conversation_id == conversation_id,
                        Message.direction.in_(("visitor", "bot", "agent")),
                    )
                    .order_by(Message.id.desc())
                    .limit(50)
                )
            )[::-1]
            through = await session.scalar(
                select(func.max(OutgoingEmail.through_message_id)).where(
                    OutgoingEmail.kind == KIND, OutgoingEmail.conversation_id == conversation_id
                )
            )
            new = [m for m in messages if m.direction == "agent" and m.id > (through or 0)]
            if not new:
                return False
            to = await visitor_address(session, conversation)
            # Not mailed, and recorded so (the next sweep starts after them):
            if self._online(visitor.id):
                reason = "seen: the visitor is on the page"
            elif as_utc(visitor.last_seen_at) > oldest_unmailed:
                reason = "seen: the visitor came back after it was written"
            else:
                reason = None
            key = f"{KIND}:{conversation_id}:{new[-1].id}"
            if reason is not None or to is None:
                reason = reason or "no address: the visitor left no email"
                await outbox.record_skipped(
                    session, KIND, reason, visitor.id, conversation_id, key, new[-1].id
                )
                return False
            earlier = [m for m in messages if m.id < new[0].id][-CONTEXT_MESSAGES:]
            row = await outbox.enqueue(
                session,
                KIND,
                self._compose(conversation, to, new, earlier),
                visitor_id=visitor.id,
                conversation_id=conversation_id,
                dedupe_key=key,
                through_message_id=new[-1].id,
            )
            return row is not None

    def _compose(
        self,
        conversation: Conversation,
        to: str,
        new: list[Message],
        earlier: list[Message],
    ) -> Any:
        name = self._brand.name
        reply_to = self._tokens.address(conversation.id)
        paragraphs = [m.text or "" for m in new]
        if earlier:
            paragraphs.append("Earlier in this conversation:")
            paragraphs.extend(f"{_who(m, name)}: {m.text or ''}" for m in earlier)
        footer = (
            "Reply to this email to answer; your reply goes to the same conversation."
            if reply_to
            else f"Answer in the chat at {self._public_url}."
        )
        headers = {"Auto-Submitted": "no", "X-Rapport-Conversation": str(conversation.id)}
        if reply_to:
            headers["Reply-To"] = reply_to
        # One thread per conversation in the visitor's mail program.
        thread = f"<conversation-{conversation.id}@{self._brand.from_address.rpartition('@')[2]}>"
        headers["References"] = thread
        headers["In-Reply-To"] = thread
        return build(
            self._brand,
            to,
            f"Re: your conversation with {name}",
            paragraphs,
            footer=footer,
            headers=headers,
        )


def _who(message: Message, brand_name: str) -> str:
    return {"visitor": "You", "bot": f"{brand_name} assistant", "agent": brand_name}.get(
        message.direction, message.direction
    )
