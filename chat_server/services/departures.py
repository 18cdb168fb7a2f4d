"""Queued visitors who leave: out of the queue, never assigned as a live chat.

A queued visitor with no open connection for ``timeout`` seconds (a closed
tab, not a page load) leaves the queue: their conversation goes back to the
bot with the reason ``visitor_left``. With an email address on their profile
a follow-up is opened (answered by email like any left message); without one
the transcript just says the visitor left. If they come back while the
conversation is still open and someone can answer, they get their place back
(their original ``queued_at``) and the follow-up opened for them is withdrawn.

Timers live in this process: with several nodes each node watches the
visitors connected to it (a visitor who reconnects to another node is online
there, which the check before leaving sees through the shared rooms).
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import event_queries
from chat_server.db.models import Conversation, Followup, Message, Visitor, utcnow
from chat_server.errors import Conflict
from chat_server.protocol import agent as agent_protocol
from chat_server.services.handoff import HandoffService
from chat_server.services.handoff_rules import SYSTEM
from chat_server.services.notifier import Notifier

log = logging.getLogger(__name__)


class QueueDepartures:
    """Watches queued visitors' connections; moves those who left out of the queue."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        handoff: HandoffService,
        notifier: Notifier,
        timeout: float,
    ) -> None:
        self._sessions = sessionmaker
        self._handoff = handoff
        self._notifier = notifier
        self._timeout = timeout
        self._timers: dict[str, asyncio.Task[None]] = {}

    def visitor_disconnected(self, visitor_id: str) -> None:
        """The visitor's last connection closed: they leave the queue unless back in time."""
        if self._timeout <= 0 or visitor_id in self._timers:
            return
        self._timers[visitor_id] = asyncio.create_task(self._wait_then_leave(visitor_id))

    async def visitor_connected(self, visitor_id: str, returning: bool) -> None:
        """The visitor is back: cancel a pending departure, or give back their place
        (``returning``: a known visitor resumed their session)."""
        timer = self._timers.pop(visitor_id, None)
        if timer is not None:
            timer.cancel()
            return
        if returning:
            await self.returned(visitor_id)

    async def close(self) -> None:
        for task in self._timers.values():
            task.cancel()
        await asyncio.gather(*self._timers.values(), return_exceptions=True)
        self._timers.clear()

    async def _wait_then_leave(self, visitor_id: str) -> None:
        try:
            await asyncio.sleep(self._timeout)
            if not self._notifier.visitor_online(visitor_id):
                await self.left(visitor_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not take visitor %s out of the queue", visitor_id)
        finally:
            if self._timers.get(visitor_id) is asyncio.current_task():
                del self._timers[visitor_id]

    async def left(self, visitor_id: str) -> int | None:
        """Take the visitor's queued conversation out of the queue; its id, or None."""
        async with self._sessions.begin() as session:
            conversation = await session.scalar(
                select(Conversation).where(
                    Conversation.visitor_id == visitor_id, Conversation.state == "queued"
                )
            )
            if conversation is None:
                return None
            try:
                # queued_at is kept: it is the place they get back if they return.
                await self._handoff.change_state(
                    session, conversation, "bot", agent_protocol.REASON_VISITOR_LEFT, SYSTEM
                )
            except Conflict:
                return None  # accepted meanwhile
            visitor = await session.get(Visitor, visitor_id)
            if visitor is not None and visitor.email:
                session.add(
                    Followup(
                        visitor_id=visitor_id,
                        conversation_id=conversation.id,
                        email=visitor.email,
                        message=await _what_they_asked(session, conversation),
                        status="open",
                        created_at=utcnow(),
                    )
                )
            await event_queries.log_event(
                session,
                "visitor_left_queue",
                visitor_id,
                conversation.id,
                {"followup": bool(visitor is not None and visitor.email)},
            )
        await self._handoff.publish(conversation.id)
        await self._handoff.notify_queue()  # everyone behind moves up
        return conversation.id

    async def returned(self, visitor_id: str) -> int | None:
        """Back after leaving the queue: the same place in it, if someone can answer."""
        async with self._sessions.begin() as session:
            conversation = await session.scalar(
                select(Conversation)
                .where(Conversation.visitor_id == visitor_id, Conversation.state == "bot")
                .order_by(Conversation.id.desc())
                .limit(1)
            )
            if (
                conversation is None
                or conversation.handoff_reason != agent_protocol.REASON_VISITOR_LEFT
                or not await self._handoff.anyone_online(session)
            ):
                return None
            try:
                await self._handoff.change_state(
                    session,
                    conversation,
                    "queued",
                    agent_protocol.REASON_VISITOR_LEFT,
                    SYSTEM,
                    queued_at=conversation.queued_at or utcnow(),
                )
            except Conflict:
                return None
            # Talking to us again: the email follow-up opened when they left is moot.
            await session.execute(
                delete(Followup).where(
                    Followup.conversation_id == conversation.id, Followup.status == "open"
                )
            )
        await self._handoff.route()
        await self._handoff.publish(conversation.id)
        return conversation.id


async def _what_they_asked(session: AsyncSession, conversation: Conversation) -> str:
    """The visitor's last few messages, for the follow-up (newest last)."""
    rows = await session.scalars(
        select(Message.text)
        .where(Message.conversation_id == conversation.id, Message.direction == "visitor")
        .order_by(Message.id.desc())
        .limit(5)
    )
    texts = [t for t in rows if t][::-1]
    return "\n".join(texts) or "(left the queue without writing)"
