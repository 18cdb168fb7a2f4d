"""Visitor sessions and visitor turns: store, ask Rasa, store, deliver.

Persist before relay: the visitor's message is committed before Rasa sees it,
and every reply is committed before it is emitted, so nothing a client saw is
missing from the database.

The visitor profile is a mirror of the bot's slots (see chat_server/profile.py):
after each turn, and after anything set from outside a turn (a verified
identity, a card click), the slots Rasa reports are copied into the profile.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server import metrics
from chat_server.db import queries
from chat_server.db.models import Conversation, Followup, Message, Visitor, utcnow
from chat_server.identity import SessionToken, VisitorIds
from chat_server.profile import merge_profiles, profile_from_slots
from chat_server.protocol import agent as agent_protocol
from chat_server.protocol import visitor as protocol
from chat_server.rasa_client import RasaClient, RasaReply, RasaUnavailable
from chat_server.services import consent, followups, interaction_log
from chat_server.services.handoff import BOT, VISITOR, Actor, HandoffService
from chat_server.services.locks import KeyedLocks
from chat_server.services.notifier import Notifier
from chat_server.services.privacy import PrivacyService
from chat_server.services.tracker_sync import TrackerSync, slots_set, visitor_said
from chat_server.verification import IdentityClaim

log = logging.getLogger(__name__)

# Rasa's prefix for a message that names its intent instead of being parsed.
INTENT_PREFIX = "/"
BARE_INTENT = re.compile(r"^/[A-Za-z_][A-Za-z0-9_]{0,99}$")

# A rotated-out session id keeps working this long (see _resumable).
ROTATION_GRACE = timedelta(minutes=2)
# A session id older than this is re-signed when presented: the expiry slides.
REISSUE_AFTER = timedelta(days=1)

# The most messages sent to a client resuming from its last message id.
MAX_RESUME = 500

# How many clicked products the profile (and the bot's slot) keeps.
MAX_CLICKED = 50

UNAVAILABLE_TEXT = (
    "Sorry, our assistant is unavailable right now. Your message is saved — "
    "please try again in a moment."
)


@dataclass
class Accepted:
    """A visitor message the server holds: its id, and whether it was a retry."""

    message_id: int
    duplicate: bool


class TooManyVisitors(Exception):
    """Too many new visitors from one address: the rate limit said no."""


@dataclass
class VisitorSession:
    """The outcome of a session request."""

    visitor_id: str
    session_id: str
    resumed: bool


def message_to_wire(message: Message, sender_name: str | None = None) -> dict[str, Any]:
    """A stored message as the widget's `history` item."""
    item: dict[str, Any] = {
        "id": message.id,
        "direction": message.direction,
        "text": message.text,
        "payload": message.payload,
        "created_at": message.created_at.isoformat(),
    }
    if sender_name:
        item["sender_name"] = sender_name
    if message.client_id and message.direction == "visitor":
        item["client_id"] = message.client_id
    return item


# Turns where the bot could not help: two in a row bring in a person. The bot's
# fallback action also says so with a {"fallback": true} control payload.
FALLBACK_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})


@dataclass
class BotTurn:
    """What the bot's reply to one visitor message means for the chat server."""

    outgoing: list[dict[str, Any]]
    handoff_reason: str | None = None
    fallback: bool = False
    forget: bool = False


def read_reply(reply: RasaReply) -> BotTurn:
    """Split Rasa's messages into what the visitor sees and control instructions.

    Control payloads (``{"handoff": ...}``, ``{"fallback": ...}``,
    ``{"privacy": ...}``) are for the chat server only: never sent, never stored.
    """
    turn = BotTurn(outgoing=[], fallback=reply.intent in FALLBACK_INTENTS)
    for message in reply.messages:
        control = protocol.control_of(message)
        if control is None:
            payload = protocol.to_bot_uttered(message)
            if payload:
                turn.outgoing.append(payload)
            continue
        handoff = control.get("handoff")
        if isinstance(handoff, dict):
            reason = handoff.get("reason")
            turn.handoff_reason = (
                reason
                if reason in (agent_protocol.REASON_REQUESTED, agent_protocol.REASON_COMPLAINT)
                else agent_protocol.REASON_REQUESTED
            )
        if control.get("fallback"):
            turn.fallback = True
        privacy = control.get("privacy")
        if isinstance(privacy, dict) and privacy.get("forget"):
            turn.forget = True
    return turn


async def _bot_text_before(session: AsyncSession, message: Message) -> str | None:
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


def mirror_profile(visitor: Visitor, slots: dict[str, Any]) -> None:
    """Copy the bot's view of the visitor (its slots) into the stored profile."""
    profile = profile_from_slots(slots)
    visitor.profile = profile
    visitor.name = profile.get("name") or visitor.name
    visitor.email = profile.get("email") or visitor.email


class ConversationService:
    """Everything that happens to a visitor's conversation."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        rasa: RasaClient,
        visitor_ids: VisitorIds,
        notifier: Notifier,
        privacy: PrivacyService,
        handoff: HandoffService,
        tracker_sync: TrackerSync,
        history_page_size: int = 50,
        idle_minutes: int = 60,
        catalog: Mapping[str, str | None] | None = None,
    ) -> None:
        self._sessions = sessionmaker
        self._rasa = rasa
        self._ids = visitor_ids
        self._notifier = notifier
        self._privacy = privacy
        self._handoff = handoff
        self._tracker_sync = tracker_sync
        self._history_page_size = history_page_size
        self._idle = timedelta(minutes=idle_minutes)
        # Product id -> category: the only products a click may name.
        self._catalog: Mapping[str, str | None] = catalog or {}
        self._locks = KeyedLocks()

    # -- sessions ---------------------------------------------------------

    async def start_session(
        self,
        presented: str | None,
        claim: IdentityClaim | None = None,
        may_create: Callable[[], Awaitable[bool]] | None = None,
    ) -> VisitorSession:
        """Resume the visitor behind a genuine session id, or issue a new one.

        With a verified ``claim`` the session belongs to that customer; an
        anonymous visitor presented alongside it is merged into the customer.
        Without one, an identified customer's session id is not resumed: after
        a logout the next person at that browser must not see their history.

        Every confirmation hands out a fresh id (sliding expiry). A new visit
        or an identity change also bumps the visitor's generation, retiring
        every earlier copy of the id. ``may_create`` is asked before a new
        anonymous visitor is created (rate limit); False raises TooManyVisitors.
        """
        token = self._ids.verify(presented)
        merged: dict[str, Any] | None = None
        async with self._sessions.begin() as session:
            current = await self._resumable(session, token)
            if claim is None:
                if current is not None and current.external_id is None:
                    rotate = self._new_visit(current) or bool(token and token.legacy)
                    return self._confirm(current, rotate, token, presented)
                if may_create is not None and not await may_create():
                    raise TooManyVisitors
                return await self._new_visitor(session)
            # Becoming (or switching to) this customer is an identity change.
            same_customer = current is not None and current.external_id == claim.user_id
            target, merged, existed = await self._claim(session, current, claim)
            rotate = not same_customer or self._new_visit(target)
            result = self._confirm(target, rotate, token, presented)
            result.resumed = existed
        await self._sync_claim(result.visitor_id, claim, merged)
        return result

    async def _resumable(self, session: AsyncSession, token: SessionToken | None) -> Visitor | None:
        """The visitor a presented id may resume: genuine, unexpired, current generation.

        The previous generation still works for ROTATION_GRACE after a
        rotation, so a second tab or a reconnect racing it is not thrown out.
        """
        if token is None:
            return None
        visitor = await queries.get_visitor(session, token.visitor_id)
        if visitor is None:
            return None
        current = visitor.session_generation
        if token.legacy:
            return visitor if current == 0 else None
        if token.generation == current:
            return visitor
        rotated = visitor.session_rotated_at
        if (
            token.generation == current - 1
            and rotated is not None
            and utcnow() - queries.as_utc(rotated) < ROTATION_GRACE
        ):
            return visitor
        return None

    def _new_visit(self, visitor: Visitor) -> bool:
        """Whether the visitor comes back after a break (their id is rotated then)."""
        return utcnow() - queries.as_utc(visitor.last_seen_at) > self._idle

    def _confirm(
        self,
        visitor: Visitor,
        rotate: bool,
        token: SessionToken | None,
        presented: str | None,
    ) -> VisitorSession:
        """The session id to hand back: the presented one while it is current and
        fresh (clients such as rasa-webchat treat a changed id as a new
        session), else a newly signed one."""
        now = utcnow()
        visitor.last_seen_at = now
        if rotate:
            visitor.session_generation += 1
            visitor.session_rotated_at = now
        elif (
            token is not None
            and presented is not None
            and token.visitor_id == visitor.id
            and token.generation == visitor.session_generation
            and now.timestamp() - token.issued_at < REISSUE_AFTER.total_seconds()
        ):
            return VisitorSession(visitor.id, presented, resumed=True)
        return VisitorSession(
            visitor.id, self._ids.sign(visitor.id, visitor.session_generation), resumed=True
        )

    async def _new_visitor(
        self, session: AsyncSession, external_id: str | None = None
    ) -> VisitorSession:
        visitor_id = self._ids.new_visitor_id()
        await queries.create_visitor(session, visitor_id, external_id)
        await queries.log_event(session, "visitor_created", visitor_id)
        return VisitorSession(visitor_id, self._ids.sign(visitor_id, 0), resumed=False)

    async def _claim(
        self, session: AsyncSession, current: Visitor | None, claim: IdentityClaim
    ) -> tuple[Visitor, dict[str, Any] | None, bool]:
        """The customer's visitor row (and whether it existed before).

        An anonymous ``current`` visitor becomes the customer, or is merged
        into the customer's existing row.
        """
        known = await queries.visitor_by_external_id(session, claim.user_id)
        anonymous = current if current is not None and current.external_id is None else None
        if known is None:
            if anonymous is not None:
                anonymous.external_id = claim.user_id
                await queries.log_event(session, "visitor_identified", anonymous.id)
                return anonymous, None, True
            new = await self._new_visitor(session, external_id=claim.user_id)
            return await queries.get_visitor(session, new.visitor_id), None, False  # type: ignore[return-value]
        if anonymous is None or anonymous.id == known.id:
            return known, None, True
        # Same person, first seen anonymously: keep their history and profile.
        await queries.move_visitor_data(session, anonymous.id, known.id)
        had_consent = (known.profile or {}).get("marketing_consent")
        known.profile = merge_profiles(known.profile or {}, anonymous.profile or {})
        if known.profile.get("marketing_consent") != had_consent:
            # Given while anonymous; the login carries it over to the customer.
            await consent.record(
                session,
                known.id,
                None,
                topic=consent.MARKETING,
                granted=bool(known.profile.get("marketing_consent")),
                source=consent.IDENTITY_CLAIM,
                agreed_to=None,
                at=known.profile.get("consent_at"),
            )
        await session.delete(anonymous)
        await queries.log_event(session, "visitor_merged", known.id, data={"from": anonymous.id})
        merged_from = anonymous.id
        await session.flush()
        return known, {"from": merged_from, "profile": known.profile}, True

    async def _sync_claim(
        self, visitor_id: str, claim: IdentityClaim, merged: dict[str, Any] | None
    ) -> None:
        """Tell the bot who this is (and what the anonymous visitor told it)."""
        slots: dict[str, Any] = dict(merged["profile"]) if merged else {}
        if claim.name:
            slots["name"] = claim.name
        if claim.email:
            slots["email"] = claim.email
        if merged:
            await self._privacy.erase_tracker(merged["from"])
        if slots:
            await self.set_profile_slots(visitor_id, slots)

    async def history(
        self, visitor_id: str, before_id: int | None = None, after_id: int | None = None
    ) -> list[dict[str, Any]]:
        """The visitor's messages, oldest first: the latest page, or with
        ``after_id`` what a reconnecting client has not seen (up to MAX_RESUME)."""
        async with self._sessions() as session:
            if after_id is not None:
                rows = await queries.messages_after(session, visitor_id, after_id, MAX_RESUME)
            else:
                rows = await queries.recent_messages(
                    session, visitor_id, self._history_page_size, before_id
                )
            agents = await queries.agents_by_id(
                session, {m.agent_id for m in rows if m.agent_id is not None}
            )
            return [
                message_to_wire(
                    m, agents[m.agent_id].display_name if m.agent_id in agents else None
                )
                for m in rows
            ]

    async def handoff_status(self, visitor_id: str) -> tuple[dict[str, Any] | None, int | None]:
        """For a (re)connecting Rapport client: the handoff state to show, and a
        resolved conversation still waiting for its rating."""
        async with self._sessions() as session:
            conversation = await queries.latest_conversation(session, visitor_id)
        if conversation is None:
            return None, None
        if conversation.state == "resolved":
            unrated = (
                conversation.csat_score is None
                and conversation.resolved_at is not None
                and (utcnow() - queries.as_utc(conversation.resolved_at) < self._idle)
            )
            return None, conversation.id if unrated else None
        return await self._handoff.queue_status(conversation.id), None

    # -- profile ----------------------------------------------------------

    async def set_profile_slots(self, visitor_id: str, slots: dict[str, Any]) -> None:
        """Set slots in the bot's tracker and mirror the result into the profile."""
        try:
            after = await self._rasa.set_slots(visitor_id, slots)
        except RasaUnavailable as exc:
            # Keep what we learnt, and queue it for the bot's tracker: the next
            # turn flushes the outbox first, so its slots cannot overwrite it.
            log.warning("could not update the tracker of %s: %s", visitor_id, exc)
            async with self._sessions.begin() as session:
                visitor = await queries.get_visitor(session, visitor_id)
                if visitor is not None:
                    mirror_profile(visitor, {**(visitor.profile or {}), **slots})
                    await queries.add_tracker_events(session, visitor_id, [slots_set(slots)])
            self._tracker_sync.kick(visitor_id)
            return
        async with self._sessions.begin() as session:
            visitor = await queries.get_visitor(session, visitor_id)
            if visitor is not None:
                mirror_profile(visitor, after)

    async def record_card_click(self, visitor_id: str, product_id: str) -> bool:
        """Log the click and add the product to the visitor's clicked products.

        False for a product that is not in the catalog (nothing is stored).
        The clicked list keeps the latest MAX_CLICKED products.
        """
        if product_id not in self._catalog:
            return False
        async with self._locks.hold(visitor_id):
            async with self._sessions.begin() as session:
                visitor = await queries.get_visitor(session, visitor_id)
                if visitor is None:
                    return False
                await queries.log_event(
                    session,
                    "card_clicked",
                    visitor_id,
                    data={"product_id": product_id, "category": self._catalog[product_id]},
                )
                clicked = list((visitor.profile or {}).get("products_clicked") or [])
            if product_id not in clicked:
                await self.set_profile_slots(
                    visitor_id, {"products_clicked": [*clicked, product_id][-MAX_CLICKED:]}
                )
        return True

    # -- turns ------------------------------------------------------------

    async def handle_visitor_message(
        self,
        visitor_id: str,
        text: str,
        page_url: str | None = None,
        client_id: str | None = None,
    ) -> Accepted:
        """Store the message, then let the bot, the follow-up dialogue or a person answer.

        A retry (same ``client_id``) of a message already stored is not stored
        or answered again — unless its bot turn never ran (the server stopped
        in between), which then runs now. The visitor's messages are handled
        one at a time, in the order they arrive.
        """
        async with self._locks.hold(visitor_id):
            if client_id is not None:
                earlier = await self._earlier(visitor_id, client_id)
                if earlier is not None:
                    return earlier
            replies: list[tuple[Message, dict[str, Any]]] = []
            created: Followup | None = None
            async with self._sessions.begin() as session:
                conversation = await queries.open_conversation(session, visitor_id, self._idle)
                incoming = await queries.add_message(
                    session,
                    conversation,
                    "visitor",
                    text,
                    page_url=page_url,
                    client_id=client_id,
                    # A bot turn is still to come: a retry must know if it ran.
                    handled=bool(conversation.followup_stage) or conversation.state != "bot",
                )
                await queries.log_event(
                    session,
                    "message_received",
                    visitor_id,
                    conversation.id,
                    {"message_id": incoming.id, "state": conversation.state},
                )
                if conversation.followup_stage:
                    visitor = await queries.get_visitor(session, visitor_id)
                    step = await followups.continue_followup(session, conversation, visitor, text)
                    replies = [
                        (
                            await queries.add_message(
                                session, conversation, "bot", r["text"], payload=r
                            ),
                            r,
                        )
                        for r in step.replies
                    ]
                    created = step.created
                    if created is not None:
                        await queries.log_event(
                            session,
                            "followup_created",
                            visitor_id,
                            conversation.id,
                            {"followup_id": created.id},
                        )
                        await interaction_log.log_lead(session, visitor_id, "followup")
                        await consent.record(
                            session,
                            visitor_id,
                            conversation.id,
                            topic=consent.FOLLOWUP_REPLY,
                            granted=True,
                            source=consent.TYPED,
                            agreed_to=await _bot_text_before(session, incoming),
                            confirmation=" ".join(r["text"] for r in step.replies) or None,
                        )
                elif conversation.state in ("queued", "assigned"):
                    # A person owns the conversation: the bot stays silent but
                    # its tracker hears what was said (see TrackerSync).
                    if conversation.state == "assigned":
                        conversation.unread += 1
                    await queries.add_tracker_events(session, visitor_id, [visitor_said(text)])
            await self._handoff.publish_message(conversation, incoming)
            if conversation.state != "bot" or replies or created is not None:
                await self._deliver(visitor_id, conversation, replies)
                if created is not None:
                    await self._notifier.to_agents(
                        agent_protocol.FOLLOWUP_CREATED,
                        {"followup": followups.followup_json(created)},
                    )
                self._tracker_sync.kick(visitor_id)
                self._handoff.publish_soon(conversation.id)
                return Accepted(incoming.id, duplicate=False)
            await self._bot_turn(visitor_id, conversation, incoming, text, page_url)
            return Accepted(incoming.id, duplicate=False)

    async def _earlier(self, visitor_id: str, client_id: str) -> Accepted | None:
        """A retried message: answer it if its bot turn never ran; None if it is new."""
        async with self._sessions() as session:
            earlier = await queries.message_by_client_id(session, visitor_id, client_id)
            conversation = (
                await session.get(Conversation, earlier.conversation_id) if earlier else None
            )
        if earlier is None or conversation is None:
            return None
        if not earlier.handled:
            log.info("answering message %s of %s after a retry", earlier.id, visitor_id)
            await self._bot_turn(
                visitor_id, conversation, earlier, earlier.text or "", earlier.page_url
            )
        return Accepted(earlier.id, duplicate=True)

    async def _bot_turn(
        self,
        visitor_id: str,
        conversation: Conversation,
        incoming: Message,
        text: str,
        page_url: str | None,
    ) -> None:
        # After a hand-back, the bot must hear the human phase before this message.
        await self._tracker_sync.flush(visitor_id)
        text = await self._text_for_bot(visitor_id, text)
        metadata = {"visitor_id": visitor_id, "page_url": page_url}
        started = time.perf_counter()
        failure: str | None = None
        reply: RasaReply | None = None
        try:
            reply = await self._rasa.send_message(visitor_id, text, metadata)
            turn = read_reply(reply)
            if (
                not turn.outgoing
                and turn.handoff_reason is None
                and not turn.forget
                and not (await self._rasa.action_server_status())["ok"]
            ):
                failure = "action_server_unavailable"
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

        escalate: tuple[str, Actor] | None = None
        async with self._sessions.begin() as session:
            conversation = await queries.open_conversation(session, visitor_id, self._idle)
            stored = await session.get(Message, incoming.id)
            if stored is not None:
                stored.handled = True
            if reply is not None:
                if stored is not None and reply.intent:
                    stored.intent = reply.intent
                    stored.confidence = reply.confidence
                visitor = await queries.get_visitor(session, visitor_id)
                if visitor is not None and reply.slots:
                    consent_before = (visitor.profile or {}).get("marketing_consent")
                    email_before = visitor.email
                    mirror_profile(visitor, reply.slots)
                    if visitor.profile.get("marketing_consent") != consent_before:
                        await self._record_consent(
                            session, visitor, conversation, incoming, turn, text
                        )
                        if visitor.profile.get("marketing_consent"):
                            await queries.log_event(
                                session, "newsletter_subscribed", visitor_id, conversation.id
                            )
                            await interaction_log.log_lead(session, visitor_id, "newsletter")
                    if visitor.email and not email_before:
                        await interaction_log.log_lead(session, visitor_id, "chat")
            conversation.fallbacks_in_row = (
                conversation.fallbacks_in_row + 1 if turn.fallback else 0
            )
            reason = turn.handoff_reason
            if reason is None and conversation.fallbacks_in_row >= 2:
                reason = agent_protocol.REASON_FALLBACK
            outgoing = list(turn.outgoing)
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
                await queries.log_event(
                    session,
                    "handoff_requested",
                    visitor_id,
                    conversation.id,
                    {"reason": reason, "agents_available": escalate is not None},
                )
            replies = [
                (
                    await queries.add_message(
                        session, conversation, "bot", m.get("text"), payload=m
                    ),
                    m,
                )
                for m in outgoing
            ]
            await queries.log_event(
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
                await queries.log_event(
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
                await queries.log_event(
                    session, "card_impression", visitor_id, conversation.id, impression
                )
        await self._deliver(visitor_id, conversation, replies)
        if escalate is not None:
            await self._handoff.escalate(conversation.id, *escalate)
        else:
            self._handoff.publish_soon(conversation.id)
        if turn.forget:
            await self._forget(visitor_id)

    async def _text_for_bot(self, visitor_id: str, text: str) -> str:
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
            offered = await queries.offered_payloads(session, visitor_id)
        if text in offered:
            return text
        log.info("typed intent syntax from visitor %s read as plain text", visitor_id)
        return text.lstrip(INTENT_PREFIX).strip() or "?"

    async def _record_consent(
        self,
        session: AsyncSession,
        visitor: Visitor,
        conversation: Conversation,
        incoming: Message,
        turn: BotTurn,
        read_as: str,
    ) -> None:
        """The bot changed the visitor's marketing consent in this turn: record how.

        ``read_as`` is what Rasa was given: it keeps the intent syntax only for a
        quick reply the bot offered (see _text_for_bot).
        """
        # What the visitor agreed to: the bot's message they were answering.
        asked = await _bot_text_before(session, incoming)
        await consent.record(
            session,
            visitor.id,
            conversation.id,
            topic=consent.MARKETING,
            granted=bool(visitor.profile.get("marketing_consent")),
            source=consent.chat_source(read_as),
            agreed_to=asked,
            confirmation=" ".join(m["text"] for m in turn.outgoing if m.get("text")) or None,
            at=visitor.profile.get("consent_at"),
        )

    async def _deliver(
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
                extras={**extras, "message_id": stored.id, "sender": {"type": "bot"}},
            )
            await self._handoff.publish_message(conversation, stored)

    async def _forget(self, visitor_id: str) -> None:
        """The visitor asked to be forgotten: erase them, hand out a fresh id."""
        await self._privacy.erase(visitor_id)
        async with self._sessions.begin() as session:
            fresh = await self._new_visitor(session)
        await self._notifier.visitor_replaced(visitor_id, fresh.visitor_id, fresh.session_id)
