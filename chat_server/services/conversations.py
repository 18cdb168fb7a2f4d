"""A visitor's messages and profile: store the message, run the bot turn
(services/bot_turns.py), hand over to people (services/handoff.py). Sessions
and identity: services/visitor_sessions.py.

Persist before relay: the visitor's message is committed before Rasa sees it,
and every reply is committed before it is emitted, so nothing a client saw is
missing from the database.

The visitor profile is a mirror of the bot's slots (see chat_server/profile.py):
after each turn, and after anything set from outside a turn (a verified
identity, a card click), the slots Rasa reports are copied into the profile.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import (
    conversation_queries,
    event_queries,
    message_queries,
    visitor_message_batch,
    visitor_queries,
)
from chat_server.db.group_commit import GroupCommit
from chat_server.db.models import Conversation, Followup, Message, as_utc, utcnow
from chat_server.db.visitor_message_batch import VisitorText
from chat_server.identity import VisitorIds
from chat_server.protocol import agent as agent_protocol
from chat_server.rasa_client import (
    RasaClient,
    RasaUnavailable,
)
from chat_server.services import consent, followups, interaction_log
from chat_server.services.bot_reply import bot_view, mirror_profile
from chat_server.services.bot_turns import BotTurns, bot_text_before
from chat_server.services.campaigns import credit
from chat_server.services.email.optin import ConsentMail
from chat_server.services.fair_queue import FairScheduler
from chat_server.services.handoff import HandoffService
from chat_server.services.locks import KeyedLocks
from chat_server.services.notifier import Notifier
from chat_server.services.privacy import PrivacyService
from chat_server.services.tracker_sync import TrackerSync, slots_set, visitor_said
from chat_server.services.visitor_sessions import VisitorSessions

log = logging.getLogger(__name__)

# The most messages sent to a client resuming from its last message id.
MAX_RESUME = 500

# How many clicked products the profile (and the bot's slot) keeps.
MAX_CLICKED = 50


@dataclass
class _Stored:
    """What storing a visitor message did (or found: a retry of a stored one)."""

    conversation: Conversation
    message: Message
    duplicate: bool = False
    replies: list[tuple[Message, dict[str, Any]]] = field(default_factory=list)
    created: Followup | None = None
    # Whether the bot's tracker may be behind (outbox rows): unknown on the full path.
    tracker_behind: bool = True


@dataclass
class Accepted:
    """A visitor message the server holds: its id, and whether it was a retry."""

    message_id: int
    duplicate: bool
    # Its visitor_seq (None for a message stored before numbering existed).
    seq: int | None = None


def message_to_wire(message: Message, sender_name: str | None = None) -> dict[str, Any]:
    """A stored message as the widget's `history` item."""
    item: dict[str, Any] = {
        "id": message.id,
        "seq": message.visitor_seq,
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
        idle_minutes: int = 60,
        catalog: Mapping[str, str | None] | None = None,
        turns: FairScheduler | None = None,
        consent_mail: ConsentMail | None = None,
        commits: GroupCommit | None = None,
    ) -> None:
        self._sessions = sessionmaker
        self._rasa = rasa
        self._ids = visitor_ids
        self._notifier = notifier
        self._privacy = privacy
        self._handoff = handoff
        self._tracker_sync = tracker_sync
        self._idle = timedelta(minutes=idle_minutes)
        # Product id -> category: the only products a click may name.
        self._catalog: Mapping[str, str | None] = catalog or {}
        self._locks = KeyedLocks()
        # Visitor messages of concurrent turns share transactions (db/group_commit.py).
        self._commits = commits or GroupCommit(sessionmaker)
        # Bot turns share Rasa fairly by address (fair_queue.py); default: unbounded.
        self._turns = turns or FairScheduler(0)
        self._visitor_sessions = VisitorSessions(
            sessionmaker, visitor_ids, self._idle, self.set_profile_slots
        )
        self.start_session = self._visitor_sessions.start_session
        self.ensure_visitor = self._visitor_sessions.ensure_visitor
        self._bot_turns = BotTurns(
            sessionmaker,
            rasa,
            notifier,
            handoff,
            tracker_sync,
            self._turns,
            self._idle,
            self._catalog,
            self._forget,
            consent_mail,
            self._commits,
        )

    async def handoff_status(self, visitor_id: str) -> tuple[dict[str, Any] | None, int | None]:
        """For a (re)connecting Rapport client: the handoff state to show, and a
        resolved conversation still waiting for its rating."""
        async with self._sessions() as session:
            conversation = await conversation_queries.latest_conversation(session, visitor_id)
        if conversation is None:
            return None, None
        if conversation.state == "resolved":
            unrated = (
                conversation.csat_score is None
                and conversation.resolved_at is not None
                and (utcnow() - as_utc(conversation.resolved_at) < self._idle)
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
                visitor = await visitor_queries.get_visitor(session, visitor_id)
                if visitor is not None:
                    mirror_profile(visitor, {**bot_view(visitor.profile or {}), **slots})
                    await event_queries.add_tracker_events(session, visitor_id, [slots_set(slots)])
            self._tracker_sync.kick(visitor_id)
            return
        async with self._sessions.begin() as session:
            visitor = await visitor_queries.get_visitor(session, visitor_id)
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
                visitor = await visitor_queries.get_visitor(session, visitor_id)
                if visitor is None:
                    return False
                await event_queries.log_event(
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
        address: str | None = None,
    ) -> Accepted:
        """Store the message, then let the bot, the follow-up dialogue or a person answer.

        A retry (same ``client_id``) of a message already stored is not stored
        or answered again — unless its bot turn never ran (the server stopped
        in between), which then runs now. The visitor's messages are handled
        one at a time, in the order they arrive.

        ``address`` (the client's) is whose turn it is when Rasa is busy; the
        bot turn raises TurnsBusy when that address has too many turns waiting
        (the message stays stored and unhandled: a retry answers it).
        """
        async with self._locks.hold(visitor_id):
            stored = await self._commits.run_bulk(
                self._store_plain,
                VisitorText(visitor_id, text, page_url, client_id),
                functools.partial(
                    self._store_visitor_message, visitor_id, text, page_url, client_id
                ),
            )
            conversation, incoming = stored.conversation, stored.message
            if stored.duplicate:
                # A retry of a stored message: answer it if its bot turn never ran.
                if not incoming.handled:
                    log.info("answering message %s of %s after a retry", incoming.id, visitor_id)
                    await self._bot_turns.run(
                        visitor_id,
                        conversation,
                        incoming,
                        incoming.text or "",
                        incoming.page_url,
                        address,
                    )
                return Accepted(incoming.id, duplicate=True, seq=incoming.visitor_seq)
            replies, created = stored.replies, stored.created
            await self._notifier.visitor_message_stored(visitor_id, message_to_wire(incoming))
            await self._handoff.publish_message(conversation, incoming)
            if conversation.state != "bot" or replies or created is not None:
                await self._bot_turns.deliver(visitor_id, conversation, replies)
                if created is not None:
                    await self._notifier.to_agents(
                        agent_protocol.FOLLOWUP_CREATED,
                        {"followup": followups.followup_json(created)},
                    )
                self._tracker_sync.kick(visitor_id)
                self._handoff.publish_soon(conversation.id)
                return Accepted(incoming.id, duplicate=False, seq=incoming.visitor_seq)
            await self._bot_turns.run(
                visitor_id,
                conversation,
                incoming,
                text,
                page_url,
                address,
                tracker_behind=stored.tracker_behind,
            )
            return Accepted(incoming.id, duplicate=False, seq=incoming.visitor_seq)

    async def _store_plain(
        self, session: AsyncSession, items: list[VisitorText]
    ) -> list[_Stored | None]:
        """The batch's plain messages in a few statements (db/visitor_message_batch.py)."""
        filed = await visitor_message_batch.store(session, items, self._idle, visitor_said)
        return [
            None
            if f is None
            else _Stored(f.conversation, f.message, tracker_behind=f.tracker_behind)
            for f in filed
        ]

    async def _store_visitor_message(
        self,
        visitor_id: str,
        text: str,
        page_url: str | None,
        client_id: str | None,
        session: AsyncSession,
    ) -> _Stored:
        """The visitor's message in ``session`` (a unit of group commit: it may run twice)."""
        if client_id is not None:
            earlier = await message_queries.message_by_client_id(session, visitor_id, client_id)
            if earlier is not None:
                owner = await session.get(Conversation, earlier.conversation_id)
                if owner is not None:
                    return _Stored(owner, earlier, duplicate=True)
        replies: list[tuple[Message, dict[str, Any]]] = []
        created: Followup | None = None
        latest = await conversation_queries.latest_conversation(session, visitor_id)
        if latest is None:
            # Its first message, or its row was erased while its socket stayed
            # open (the transport checks a row once per socket): have one.
            _, new_row = await visitor_queries.ensure_visitor(session, visitor_id)
            if new_row:
                await event_queries.log_event(session, "visitor_created", visitor_id)
        conversation = await conversation_queries.open_after(
            session, visitor_id, latest, self._idle
        )
        incoming = await message_queries.add_message(
            session,
            conversation,
            "visitor",
            text,
            page_url=page_url,
            client_id=client_id,
            # A bot turn is still to come: a retry must know if it ran.
            handled=bool(conversation.followup_stage) or conversation.state != "bot",
        )
        await event_queries.log_event(
            session,
            "message_received",
            visitor_id,
            conversation.id,
            {"message_id": incoming.id, "state": conversation.state},
        )
        await credit.visitor_replied(session, conversation)
        if conversation.followup_stage:
            visitor = await visitor_queries.get_visitor(session, visitor_id)
            step = await followups.continue_followup(session, conversation, visitor, text)
            replies = [
                (
                    await message_queries.add_message(
                        session, conversation, "bot", r["text"], payload=r
                    ),
                    r,
                )
                for r in step.replies
            ]
            created = step.created
            if created is not None:
                await event_queries.log_event(
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
                    agreed_to=await bot_text_before(session, incoming),
                    confirmation=" ".join(r["text"] for r in step.replies) or None,
                )
        elif conversation.state in ("queued", "assigned"):
            # A person owns the conversation: the bot stays silent but
            # its tracker hears what was said (see TrackerSync).
            if conversation.state == "assigned":
                conversation.unread += 1
            await event_queries.add_tracker_events(session, visitor_id, [visitor_said(text)])
        return _Stored(conversation, incoming, replies=replies, created=created)

    async def answer_if_unanswered(self, visitor_id: str, message_id: int) -> bool:
        """Run the bot turn of a stored visitor message that never got one (an
        outage struck between storing and answering); idempotent by message id."""
        async with self._locks.hold(visitor_id):
            async with self._sessions.begin() as session:
                message = await session.get(Message, message_id)
                if message is None or message.handled or message.visitor_id != visitor_id:
                    return False
                conversation = await session.get(Conversation, message.conversation_id)
                if conversation is None or conversation.state != "bot":
                    message.handled = True  # a person has it now: the bot stays silent
                    return False
            log.info("answering message %s of %s after an outage", message.id, visitor_id)
            await self._bot_turns.run(
                visitor_id, conversation, message, message.text or "", message.page_url
            )
            return True

    async def _forget(self, visitor_id: str) -> None:
        """The visitor asked to be forgotten: erase them, hand out a fresh id."""
        await self._privacy.erase(visitor_id)
        fresh = self._visitor_sessions.new_visitor()
        await self._notifier.visitor_replaced(visitor_id, fresh.visitor_id, fresh.session_id)
