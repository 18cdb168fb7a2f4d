"""What queued visitors are told: their place in line and an honest wait.

The wait estimate comes from measured recent waits and the capacity online
now (services/routing.py); there is none when there is no basis, and never
a promise when nobody can answer. Plain clients (rasa-webchat) read a
sentence; Rapport clients get the structured ``handoff_status``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import conversation_queries
from chat_server.db.models import Agent, Conversation
from chat_server.protocol import visitor as visitor_protocol
from chat_server.services import routing
from chat_server.services.notifier import Notifier
from chat_server.services.publisher import owner_of


class QueueNotices:
    """Queue positions and waits for visitors; measured waits for the estimate."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        in_grace: Callable[[int], bool],
    ) -> None:
        self._sessions = sessionmaker
        self._notifier = notifier
        self._in_grace = in_grace
        # Measured queue waits (queued -> assigned, seconds), for the estimate.
        self._waits: deque[float] = deque(maxlen=50)

    def record_wait(self, seconds: float) -> None:
        self._waits.append(seconds)

    def estimate_seconds(self, position: int, capacity: int) -> int | None:
        """The visitor's wait: see routing.estimate_wait (None: no basis, or
        nobody who can answer now)."""
        return routing.estimate_wait(position, self._waits, capacity)

    async def queue_status(self, conversation_id: int) -> dict[str, Any] | None:
        """The handoff_status a visitor should see for this conversation now."""
        async with self._sessions() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None or conversation.state == "bot":
                return None
            if conversation.state == "assigned":
                owner = await owner_of(session, conversation)
                return {
                    "state": visitor_protocol.STATE_ASSIGNED,
                    "agent_name": owner.display_name if owner else None,
                }
            if conversation.state == "resolved":
                return None
            queue = await conversation_queries.queued_conversations(session)
            online = await self.online_capacity(session)
        position = next((i + 1 for i, c in enumerate(queue) if c.id == conversation_id), None)
        return {
            "state": visitor_protocol.STATE_QUEUED,
            "position": position,
            "estimated_wait_seconds": self.estimate_seconds(position or 1, online),
            "reason": conversation.handoff_reason,
        }

    async def notify_queue(self) -> None:
        """Tell every queued visitor their current position and wait."""
        async with self._sessions() as session:
            queue = await conversation_queries.queued_conversations(session)
            online = await self.online_capacity(session)
        for position, conversation in enumerate(queue, start=1):
            await self._notifier.to_rapport_visitor(
                conversation.visitor_id,
                visitor_protocol.HANDOFF_STATUS,
                {
                    "state": visitor_protocol.STATE_QUEUED,
                    "position": position,
                    "estimated_wait_seconds": self.estimate_seconds(position, online),
                    "reason": conversation.handoff_reason,
                },
            )

    async def announce_queued(self, conversation: Conversation) -> None:
        status = await self.queue_status(conversation.id) or {}
        position = status.get("position") or 1
        wait = status.get("estimated_wait_seconds")
        text = f"I'm connecting you with a person from our team. You're number {position} in line"
        text += f" (about {max(1, round(wait / 60))} min)." if wait else "."
        await self._notifier.to_basic_visitor(
            conversation.visitor_id, visitor_protocol.BOT_UTTERED, {"text": text}
        )
        await self._notifier.to_rapport_visitor(
            conversation.visitor_id, visitor_protocol.HANDOFF_STATUS, status
        )

    async def tell_visitor(self, visitor_id: str, text: str, status: dict[str, Any] | None) -> None:
        """Plain clients read a sentence; Rapport clients get the structured status."""
        await self._notifier.to_basic_visitor(
            visitor_id, visitor_protocol.BOT_UTTERED, {"text": text}
        )
        if status is not None:
            await self._notifier.to_rapport_visitor(
                visitor_id, visitor_protocol.HANDOFF_STATUS, status
            )

    async def online_capacity(self, session: AsyncSession) -> int:
        """Seats of the people who can answer now: online agents and admins,
        active, not in their reconnect grace."""
        online = await session.scalars(
            select(Agent).where(Agent.status == "online", Agent.deactivated_at.is_(None))
        )
        return sum(
            a.max_chats
            for a in online
            if a.role in routing.TAKING_ROLES and not self._in_grace(a.id)
        )
