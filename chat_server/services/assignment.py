"""Routing: which agent gets which queued conversation, and what follows.

``route`` assigns queued conversations, oldest first, to the agents who can
take a chat now (services/routing.py decides who can: online, active, not in
their reconnect grace, below their maximum), least loaded first, then
longest idle. One routing pass at a time per node; the conditional UPDATE of
every transition (services/transitions.py) settles races between nodes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import conversation_queries
from chat_server.db.models import Agent, Conversation, as_utc, utcnow
from chat_server.errors import Conflict
from chat_server.protocol import agent as agent_protocol
from chat_server.protocol import visitor as visitor_protocol
from chat_server.services import routing
from chat_server.services.handoff_rules import SYSTEM, Actor
from chat_server.services.notifier import Notifier
from chat_server.services.publisher import Publisher
from chat_server.services.queue_notices import QueueNotices
from chat_server.services.transitions import apply_transition


class Assigner:
    """Assigns conversations to agents and tells the visitor, the agent and every console."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        publisher: Publisher,
        notices: QueueNotices,
        in_grace: Callable[[int], bool],
        *,
        auto_assign: bool = True,
    ) -> None:
        self._sessions = sessionmaker
        self._notifier = notifier
        self._publisher = publisher
        self._notices = notices
        self._in_grace = in_grace
        self._auto_assign = auto_assign
        self._routing = asyncio.Lock()

    def candidate(self, agent: Agent, load: int) -> routing.Candidate:
        return routing.Candidate(
            role=agent.role,
            active=agent.active,
            status=agent.status,
            in_grace=self._in_grace(agent.id),
            load=load,
            max_chats=agent.max_chats,
        )

    async def available(self, session: AsyncSession) -> list[Agent]:
        """Agents who can take a chat now (routing.can_take), least loaded first,
        then longest idle."""
        online = list(
            await session.scalars(
                select(Agent).where(Agent.status == "online", Agent.deactivated_at.is_(None))
            )
        )
        loads = await conversation_queries.active_chat_counts(session)
        free = [a for a in online if routing.can_take(self.candidate(a, loads.get(a.id, 0)))]
        never = utcnow().replace(year=1970)
        free.sort(key=lambda a: (loads.get(a.id, 0), as_utc(a.last_assigned_at or never)))
        return free

    async def route(self) -> None:
        """Assign queued conversations, oldest first, to available agents (auto-assign)."""
        if not self._auto_assign:
            await self._notices.notify_queue()
            return
        async with self._routing:
            while True:
                async with self._sessions.begin() as session:
                    queue = await conversation_queries.queued_conversations(session)
                    free = await self.available(session) if queue else []
                    if not queue or not free:
                        break
                    conversation, agent = queue[0], free[0]
                    reason = conversation.handoff_reason or agent_protocol.REASON_REQUESTED
                    try:
                        await self.assign(session, conversation, agent, reason, SYSTEM)
                    except Conflict:
                        continue  # an agent accepted it meanwhile; look again
                await self.after_assignment(conversation, agent, reason)
        await self._notices.notify_queue()

    async def assign(
        self,
        session: AsyncSession,
        conversation: Conversation,
        agent: Agent,
        reason: str,
        actor: Actor,
    ) -> None:
        now = utcnow()
        timings = await apply_transition(
            session,
            conversation,
            "assigned",
            reason,
            actor,
            target=agent,
            assigned_agent_id=agent.id,
            assigned_at=now,
        )
        agent.last_assigned_at = now
        if "wait_seconds" in timings:
            self._notices.record_wait(timings["wait_seconds"])

    async def after_assignment(self, conversation: Conversation, agent: Agent, reason: str) -> None:
        name = agent.display_name
        text = (
            f"{name} has taken over this chat."
            if reason == agent_protocol.REASON_TRANSFER
            else f"{name} from our team has joined the chat."
        )
        await self._notices.tell_visitor(
            conversation.visitor_id,
            text,
            {"state": visitor_protocol.STATE_ASSIGNED, "agent_name": name},
        )
        summary = await self._publisher.publish(conversation.id)
        if summary is not None:
            await self._notifier.to_agent(
                agent.id, agent_protocol.ASSIGNMENT, {"conversation": summary, "reason": reason}
            )
        await self._publisher.publish_agent(agent.id)
