"""Visitor sessions and visitor turns: store, ask Rasa, store, deliver.

Persist before relay: the visitor's message is committed before Rasa sees it,
and every reply is committed before it is emitted, so nothing a client saw is
missing from the database.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from chat_server import protocol
from chat_server.db import queries
from chat_server.db.models import Message, utcnow
from chat_server.identity import VisitorIds
from chat_server.rasa_client import RasaClient, RasaUnavailable
from chat_server.services.locks import KeyedLocks
from chat_server.services.notifier import Notifier

log = logging.getLogger(__name__)

UNAVAILABLE_TEXT = (
    "Sorry, our assistant is unavailable right now. Your message is saved — "
    "please try again in a moment."
)


@dataclass
class VisitorSession:
    """The outcome of a session request."""

    visitor_id: str
    session_id: str
    resumed: bool


def message_to_wire(message: Message) -> dict[str, Any]:
    """A stored message as the widget's `history` item."""
    return {
        "id": message.id,
        "direction": message.direction,
        "text": message.text,
        "payload": message.payload,
        "created_at": message.created_at.isoformat(),
    }


class ConversationService:
    """Everything that happens to a visitor's conversation."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker,
        rasa: RasaClient,
        visitor_ids: VisitorIds,
        notifier: Notifier,
        history_page_size: int = 50,
    ) -> None:
        self._sessions = sessionmaker
        self._rasa = rasa
        self._ids = visitor_ids
        self._notifier = notifier
        self._history_page_size = history_page_size
        self._locks = KeyedLocks()

    async def start_session(self, presented: str | None) -> VisitorSession:
        """Resume the visitor behind a genuine session id, or issue a new one."""
        visitor_id = self._ids.verify(presented)
        async with self._sessions.begin() as session:
            visitor = await queries.get_visitor(session, visitor_id) if visitor_id else None
            if visitor is not None:
                visitor.last_seen_at = utcnow()
                return VisitorSession(visitor.id, self._ids.sign(visitor.id), resumed=True)
            visitor_id, token = self._ids.issue()
            await queries.create_visitor(session, visitor_id)
            await queries.log_event(session, "visitor_created", visitor_id)
            return VisitorSession(visitor_id, token, resumed=False)

    async def history(self, visitor_id: str, before_id: int | None = None) -> list[dict[str, Any]]:
        """One page of the visitor's messages, oldest first."""
        async with self._sessions() as session:
            rows = await queries.recent_messages(
                session, visitor_id, self._history_page_size, before_id
            )
            return [message_to_wire(m) for m in rows]

    async def handle_visitor_message(
        self, visitor_id: str, text: str, page_url: str | None = None
    ) -> None:
        """Store the message, ask Rasa, store and deliver each reply in order."""
        async with self._locks.hold(visitor_id):
            async with self._sessions.begin() as session:
                conversation = await queries.open_conversation(session, visitor_id)
                incoming = await queries.add_message(
                    session, conversation, "visitor", text, page_url=page_url
                )
                await queries.log_event(
                    session, "message_received", visitor_id, conversation.id,
                    {"message_id": incoming.id},
                )
            metadata = {"visitor_id": visitor_id, "page_url": page_url}
            started = time.perf_counter()
            try:
                reply = await self._rasa.send_message(visitor_id, text, metadata)
                outgoing = [protocol.to_bot_uttered(m) for m in reply.messages]
                outgoing = [m for m in outgoing if m]
                failure = None
                if not outgoing and not (await self._rasa.action_server_status())["ok"]:
                    failure = "action_server_unavailable"
            except RasaUnavailable as exc:
                log.warning("Rasa unavailable for visitor %s: %s", visitor_id, exc)
                reply, outgoing, failure = None, [], "rasa_unavailable"
            latency_ms = round((time.perf_counter() - started) * 1000, 1)
            if failure:
                outgoing = [{"text": UNAVAILABLE_TEXT, "custom": {"type": "assistant_unavailable"}}]

            async with self._sessions.begin() as session:
                conversation = await queries.open_conversation(session, visitor_id)
                if reply is not None and reply.intent:
                    stored = await session.get(Message, incoming.id)
                    if stored is not None:
                        stored.intent = reply.intent
                        stored.confidence = reply.confidence
                stored_replies = [
                    await queries.add_message(session, conversation, "bot", m.get("text"), payload=m)
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
                        "replies": len(outgoing),
                    },
                )
            for stored, payload in zip(stored_replies, outgoing):
                await self._notifier.to_visitor(
                    visitor_id, protocol.BOT_UTTERED, {**payload, "message_id": stored.id}
                )

    async def record_card_click(self, visitor_id: str, product_id: str) -> None:
        """Log that the visitor opened a product card."""
        async with self._sessions.begin() as session:
            await queries.log_event(
                session, "card_clicked", visitor_id, data={"product_id": product_id}
            )
