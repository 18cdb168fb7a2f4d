"""Agents who go away: their reconnect grace, their chats, visitors left waiting.

When an agent's last console closes they get no new chats; after
``agent_grace_seconds`` (services/agent_grace.py) their chats go back to the
queue ahead of newer ones, and their visitors hear why. When nobody is
online any more, queued visitors go back to the bot, which offers to take a
message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import conversation_queries, message_queries
from chat_server.db.models import Agent, Conversation, Message, utcnow
from chat_server.errors import Conflict
from chat_server.protocol import agent as agent_protocol
from chat_server.protocol import visitor as visitor_protocol
from chat_server.services import followups
from chat_server.services.agent_grace import AgentGrace
from chat_server.services.handoff_rules import SYSTEM
from chat_server.services.notifier import Notifier
from chat_server.services.publisher import Publisher
from chat_server.services.queue_notices import QueueNotices
from chat_server.services.transitions import apply_transition


class AgentAbsence:
    """Grace, requeueing and releasing for agents who leave."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        publisher: Publisher,
        notices: QueueNotices,
        *,
        route: Callable[[], Awaitable[None]],
        anyone_online: Callable[[AsyncSession], Awaitable[bool]],
        hours_text: Callable[[], str | None],
        grace_seconds: float = 60.0,
        reconnect_notice_seconds: float = 15.0,
    ) -> None:
        self._sessions = sessionmaker
        self._notifier = notifier
        self._publisher = publisher
        self._notices = notices
        self._route = route
        self._anyone_online = anyone_online
        self._hours_text = hours_text
        self._grace = AgentGrace(
            notifier.agent_connected,
            self.tell_reconnecting,
            self.requeue_agent,
            grace_seconds,
            reconnect_notice_seconds,
        )

    def in_grace(self, agent_id: int) -> bool:
        """The agent's console closed and may come back: no new chats meanwhile."""
        return self._grace.in_grace(agent_id)

    async def close(self) -> None:
        await self._grace.close()

    def agent_connected(self, agent_id: int) -> None:
        """A console connection of the agent arrived: their grace ends (services/agent_grace.py)."""
        self._grace.connected(agent_id)

    def agent_disconnected(self, agent_id: int) -> None:
        """The agent's last console connection closed: no new chats; requeue after the grace."""
        self._grace.disconnected(agent_id)

    async def tell_reconnecting(self, agent_id: int) -> None:
        """The agent's console has been gone a while: their visitors hear why it is quiet."""
        async with self._sessions() as session:
            agent = await session.get(Agent, agent_id)
            owned = list(
                await session.scalars(
                    select(Conversation).where(
                        Conversation.assigned_agent_id == agent_id, Conversation.state == "assigned"
                    )
                )
            )
        name = agent.display_name if agent else "Your agent"
        for conversation in owned:
            await self._notices.tell_visitor(
                conversation.visitor_id,
                f"{name} lost their connection and is reconnecting. If it takes much "
                "longer, someone else from our team will take over.",
                {
                    "state": visitor_protocol.STATE_ASSIGNED,
                    "agent_name": name,
                    "agent_reconnecting": True,
                },
            )

    async def requeue_agent(self, agent_id: int) -> list[int]:
        """The agent is gone: offline, and their conversations back to the queue front."""
        moved: list[tuple[Conversation, str]] = []
        async with self._sessions.begin() as session:
            agent = await session.get(Agent, agent_id)
            if agent is None:
                return []
            agent.status = "offline"
            owned = list(
                await session.scalars(
                    select(Conversation).where(
                        Conversation.assigned_agent_id == agent_id, Conversation.state == "assigned"
                    )
                )
            )
            for conversation in owned:
                await apply_transition(
                    session,
                    conversation,
                    "queued",
                    agent_protocol.REASON_AGENT_DISCONNECTED,
                    SYSTEM,
                    assigned_agent_id=None,
                    # Back to the front: they already waited once.
                    queued_at=conversation.queued_at or conversation.assigned_at or utcnow(),
                )
                moved.append((conversation, agent.display_name))
        for conversation, name in moved:
            await self._notices.tell_visitor(
                conversation.visitor_id,
                f"{name} got disconnected. I'm finding someone else from our team for you.",
                None,
            )
        await self._publisher.publish_agent(agent_id)
        await self._route()
        for conversation, _ in moved:
            await self._publisher.publish(conversation.id)
        await self._notices.notify_queue()
        await self.release_stranded()
        return [c.id for c, _ in moved]

    async def release_stranded(self) -> None:
        """Nobody is online any more: don't leave queued visitors waiting for no one.

        Each queued conversation goes back to the bot, which says so and
        offers to take a message (as when nobody was online to begin with).
        """
        released: list[tuple[Conversation, Message, dict[str, Any]]] = []
        async with self._sessions.begin() as session:
            if await self._anyone_online(session):
                return
            for conversation in await conversation_queries.queued_conversations(session):
                try:
                    await apply_transition(
                        session,
                        conversation,
                        "bot",
                        agent_protocol.REASON_NOBODY_ONLINE,
                        SYSTEM,
                        fallbacks_in_row=0,
                    )
                except Conflict:
                    continue  # accepted meanwhile
                offer = followups.offer(conversation, self._hours_text())
                message = await message_queries.add_message(
                    session, conversation, "bot", offer["text"], payload=offer
                )
                released.append((conversation, message, offer))
        for conversation, message, offer in released:
            await self._notifier.to_rapport_visitor(
                conversation.visitor_id,
                visitor_protocol.HANDOFF_STATUS,
                {"state": visitor_protocol.STATE_BOT},
            )
            plain, extras = visitor_protocol.split_for_plain_clients(offer)
            await self._notifier.to_visitor(
                conversation.visitor_id,
                visitor_protocol.BOT_UTTERED,
                plain,
                extras={
                    **extras,
                    "message_id": message.id,
                    "seq": message.visitor_seq,
                    "sender": {"type": "bot"},
                },
            )
            await self._publisher.publish_message(conversation, message)
            await self._publisher.publish(conversation.id)
