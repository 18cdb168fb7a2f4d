"""A visitor's bot turn: ask Rasa (in a fair slot), read its reply, store the
replies and what they mean (profile, consent, leads, fallbacks, handoff), then
deliver them.

Persist before relay: every reply is committed before it is emitted. Control
payloads (``{"handoff": ...}``, ``{"fallback": ...}``, ``{"privacy": ...}``)
are for the chat server only: never sent, never stored.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server import metrics
from chat_server.db import conversation_queries, event_queries, message_queries, visitor_queries
from chat_server.db.group_commit import GroupCommit
from chat_server.db.models import Conversation, Message, Visitor, utcnow
from chat_server.protocol import agent as agent_protocol
from chat_server.protocol import visitor as protocol
from chat_server.rasa_client import (
    BotStorageUnavailable,
    RasaClient,
    RasaReply,
    RasaUnavailable,
)
from chat_server.services import consent, followups, interaction_log
from chat_server.services.bot_reply import REQUESTED, BotTurn, mirror_profile, read_reply
from chat_server.services.email import optin
from chat_server.services.email.optin import ConsentMail
from chat_server.services.fair_queue import FairScheduler
from chat_server.services.handoff import HandoffService
from chat_server.services.handoff_rules import BOT, VISITOR, Actor
from chat_server.services.notifier import Notifier
from chat_server.services.segments import traits
from chat_server.services.tracker_sync import TrackerSync

log = logging.getLogger(__name__)

# Rasa's prefix for a message that names its intent instead of being parsed.
INTENT_PREFIX = "/"
BARE_INTENT = re.compile(r"^/[A-Za-z_][A-Za-z0-9_]{0,99}$")

UNAVAILABLE_TEXT = (
    "Sorry, our assistant is unavailable right now. Your message is saved — "
    "please try again in a moment."
)


# What the bot adds when a newsletter request sent no confirmation email.
CONSENT_NOTES = {
    optin.THROTTLED: (
        "A confirmation email went to that address a short while ago: please use the "
        "link in it. Until it is confirmed you won't get anything from us."
    ),
    optin.VERIFIED: (
        "Your account's address is already verified, so there's nothing to confirm: "
        "you're subscribed."
    ),
    optin.NO_EMAIL: (
        "This site can't send email yet, so I can't confirm the subscription now. "
        "Nothing will be sent to you until it is confirmed."
    ),
}


async def bot_text_before(session: AsyncSession, message: Message) -> str | None:
    """The text of the bot message just before ``message`` in its conversation."""
    return await session.scalar(
        select(Message.text)
        .where(
            Message.conversation_id == message.conversation_id,
            Message.direction == "bot",
            Message.id < message.id,
        )
        .order_by(Message.id.desc())
        .limit(1)
    )


# What storing a turn did: the conversation, the stored replies, and the
# handoff to start (reason, who asked), if any.
StoredTurn = tuple[Conversation, list[tuple[Message, dict[str, Any]]], tuple[str, Actor] | None]


class BotTurns:
    """Runs visitor messages through the bot and delivers what it says."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        rasa: RasaClient,
        notifier: Notifier,
        handoff: HandoffService,
        tracker_sync: TrackerSync,
        turns: FairScheduler,
        idle: timedelta,
        catalog: Mapping[str, str | None],
        forget: Callable[[str], Awaitable[None]],
        consent_mail: ConsentMail | None = None,
        commits: GroupCommit | None = None,
    ) -> None:
        self._sessions = sessionmaker
        # A turn's replies share transactions with concurrent writes (db/group_commit.py).
        self._commits = commits or GroupCommit(sessionmaker)
        self._rasa = rasa
        self._notifier = notifier
        self._handoff = handoff
        self._tracker_sync = tracker_sync
        self._turns = turns
        self._idle = idle
        self._catalog = catalog
        self._forget = forget
        self._consent_mail = consent_mail

    async def run(
        self,
        visitor_id: str,
        conversation: Conversation,
        incoming: Message,
        text: str,
        page_url: str | None,
        address: str | None = None,
        tracker_behind: bool = True,
    ) -> None:
        # After a hand-back, the bot must hear the human phase before this message
        # (``tracker_behind`` False: storing the message found nothing waiting).
        if tracker_behind:
            await self._tracker_sync.flush(visitor_id)
        text = await self.text_for_bot(visitor_id, text)
        # message_id: the bot skips a turn its tracker already has (a retry).
        metadata = {"visitor_id": visitor_id, "page_url": page_url, "message_id": incoming.id}
        started = time.perf_counter()
        failure: str | None = None
        reply: RasaReply | None = None
        try:
            # Waits for a free Rasa slot, in turn with other addresses and
            # visitors; TurnsBusy (this address has too many waiting) goes to the caller.
            async with self._turns.slot(address or visitor_id, visitor_id):
                reply = await self._rasa.send_message(visitor_id, text, metadata)
            turn = read_reply(reply)
            if (
                not turn.outgoing
                and turn.handoff_reason is None
                and not turn.forget
                and not (await self._rasa.action_server_status())["ok"]
            ):
                failure = "action_server_unavailable"
        except BotStorageUnavailable:
            raise  # nothing was saved: the turn runs again after the outage
        except RasaUnavailable as exc:
            log.warning("Rasa unavailable for visitor %s: %s", visitor_id, exc)
            turn, failure = BotTurn(outgoing=[]), "rasa_unavailable"
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        if failure:
            metrics.ERRORS.labels(failure).inc()
            turn = BotTurn(
                outgoing=[{"text": UNAVAILABLE_TEXT, "custom": {"type": "assistant_unavailable"}}],
                handoff_reason=agent_protocol.REASON_BOT_UNAVAILABLE,
            )

        async def store_turn(session: AsyncSession) -> StoredTurn:
            """The turn in ``session`` (a unit of group commit: it may run twice)."""
            escalate: tuple[str, Actor] | None = None
            notes: list[dict[str, Any]] = []
            conversation = await conversation_queries.open_conversation(
                session, visitor_id, self._idle
            )
            # The visitor row changes below (slots) before replies are numbered.
            await message_queries.lock_conversation(session, conversation.id)
            await message_queries.mark_handled(
                session,
                incoming.id,
                reply.intent if reply else None,
                reply.confidence if reply else None,
            )
            if reply is not None:
                visitor = await visitor_queries.get_visitor(session, visitor_id)
                if visitor is not None and reply.slots:
                    requested_before = (visitor.profile or {}).get(REQUESTED)
                    email_before = visitor.email
                    mirror_profile(visitor, reply.slots)
                    await traits.profile_sync(session, visitor_id, utcnow(), reply.slots)
                    if visitor.profile.get(REQUESTED) and not requested_before:
                        note = await self._request_consent(
                            session, visitor, conversation, incoming, turn, text
                        )
                        if note is not None:
                            notes.append(note)
                        await interaction_log.log_lead(session, visitor_id, "newsletter")
                    if visitor.email and not email_before:
                        await interaction_log.log_lead(session, visitor_id, "chat")
            conversation.fallbacks_in_row = (
                conversation.fallbacks_in_row + 1 if turn.fallback else 0
            )
            reason = turn.handoff_reason
            if reason is None and conversation.fallbacks_in_row >= 2:
                reason = agent_protocol.REASON_FALLBACK
            outgoing = [*turn.outgoing, *notes]
            if reason is not None and conversation.state == "bot":
                if await self._handoff.anyone_online(session):
                    actor = (
                        VISITOR
                        if reason
                        in (agent_protocol.REASON_REQUESTED, agent_protocol.REASON_COMPLAINT)
                        else BOT
                    )
                    escalate = (reason, actor)
                elif failure is None:
                    outgoing.append(followups.offer(conversation, self._handoff.hours_text))
                await event_queries.log_event(
                    session,
                    "handoff_requested",
                    visitor_id,
                    conversation.id,
                    {"reason": reason, "agents_available": escalate is not None},
                )
            stored_replies = await message_queries.add_messages(
                session,
                conversation,
                [Message(direction="bot", text=m.get("text"), payload=m) for m in outgoing],
            )
            replies = list(zip(stored_replies, outgoing, strict=True))
            await event_queries.log_event(
                session,
                failure or "bot_replied",
                visitor_id,
                conversation.id,
                {
                    "message_id": incoming.id,
                    "latency_ms": latency_ms,
                    "intent": reply.intent if reply else None,
                    "confidence": reply.confidence if reply else None,
                    "entities": sorted({str(e.get("entity")) for e in reply.entities})
                    if reply
                    else [],
                    "fallback": turn.fallback,
                    "replies": len(outgoing),
                    "tracker_events": reply.tracker_events if reply else None,
                },
            )
            if turn.fallback and reply is not None:
                # What the bot did not understand, to improve the training data.
                await event_queries.log_event(
                    session,
                    "bot_fallback",
                    visitor_id,
                    conversation.id,
                    {
                        "message_id": incoming.id,
                        "text": (incoming.text or "")[:500],
                        "intent": reply.intent,
                        "confidence": reply.confidence,
                    },
                )
            for impression in interaction_log.card_impressions(outgoing, self._catalog):
                await event_queries.log_event(
                    session, "card_impression", visitor_id, conversation.id, impression
                )
            return conversation, replies, escalate

        conversation, replies, escalate = await self._commits.run(store_turn)
        await self.deliver(visitor_id, conversation, replies)
        if escalate is not None:
            await self._handoff.escalate(conversation.id, *escalate)
        else:
            self._handoff.publish_soon(conversation.id)
        if turn.forget:
            await self._forget(visitor_id)

    async def text_for_bot(self, visitor_id: str, text: str) -> str:
        """What Rasa gets to read: typed intent syntax only when the bot offered it.

        Rasa reads ``/intent{"entity": ...}`` as a ready-made parse, skipping NLU
        and every validator; a visitor could set any slot (an e-mail address with
        consent, markup as a colour). Intent syntax with entities passes only
        when it is a quick-reply payload the bot just offered; otherwise it
        loses its leading slash and is understood like any other typed text.
        """
        if not text.startswith(INTENT_PREFIX) or BARE_INTENT.match(text):
            # A bare "/greet" (rasa-webchat's initPayload) names an intent and
            # nothing else: no entity, no slot; like typing "hello".
            return text
        async with self._sessions() as session:
            offered = await message_queries.offered_payloads(session, visitor_id)
        if text in offered:
            return text
        log.info("typed intent syntax from visitor %s read as plain text", visitor_id)
        return text.lstrip(INTENT_PREFIX).strip() or "?"

    async def _request_consent(
        self,
        session: AsyncSession,
        visitor: Visitor,
        conversation: Conversation,
        incoming: Message,
        turn: BotTurn,
        read_as: str,
    ) -> dict[str, Any] | None:
        """The visitor asked the bot for the newsletter in this turn: record it as
        pending and send the confirmation email (double opt-in). Returns what
        the bot must add when no email went out, else None.

        ``read_as`` is what Rasa was given: it keeps the intent syntax only for a
        quick reply the bot offered (see text_for_bot).
        """
        # What the visitor agreed to: the bot's message they were answering.
        asked = await bot_text_before(session, incoming)
        confirmation = " ".join(m["text"] for m in turn.outgoing if m.get("text")) or None
        email = visitor.profile.get("email") or visitor.email
        if not email:
            return None
        source = consent.chat_source(read_as)
        if self._consent_mail is None:  # a service built without email (tests)
            outcome = optin.NO_EMAIL
            await optin.record_pending(
                session, visitor.id, conversation.id, email, outcome, source, asked, confirmation
            )
        else:
            outcome = await self._consent_mail.request(
                session,
                visitor.id,
                conversation.id,
                email,
                source=source,
                agreed_to=asked,
                confirmation=confirmation,
            )
        text = CONSENT_NOTES.get(outcome)
        return (
            {"text": text, "custom": {"type": "consent_pending", "mail": outcome}} if text else None
        )

    async def deliver(
        self,
        visitor_id: str,
        conversation: Conversation,
        replies: list[tuple[Message, dict[str, Any]]],
    ) -> None:
        """Emit stored bot replies to the visitor and to agents watching."""
        for stored, payload in replies:
            plain, extras = protocol.split_for_plain_clients(payload)
            await self._notifier.to_visitor(
                visitor_id,
                protocol.BOT_UTTERED,
                plain,
                extras={
                    **extras,
                    "message_id": stored.id,
                    "seq": stored.visitor_seq,
                    "sender": {"type": "bot"},
                },
            )
            await self._handoff.publish_message(conversation, stored)
