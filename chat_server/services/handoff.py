"""Human handoff: what visitors and agents do to a conversation's state.

Escalate, accept (or barge in), transfer, resolve, hand back, rate, and an
agent's status. The pieces it is made of:

- services/handoff_rules.py: the state machine's rules (pure);
- services/transitions.py: the one place a state changes in storage;
- services/assignment.py: routing the queue to agents;
- services/agent_absence.py: agents who go away (grace, requeue, release);
- services/queue_notices.py: what queued visitors are told;
- services/publisher.py: what consoles are told.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import conversation_queries, event_queries, message_queries
from chat_server.db.models import Agent, Conversation, utcnow
from chat_server.errors import AgentUnavailable, Conflict, Forbidden, NotFound
from chat_server.hours import SupportHours
from chat_server.protocol import agent as agent_protocol
from chat_server.protocol import visitor as visitor_protocol
from chat_server.services import routing
from chat_server.services.agent_absence import AgentAbsence
from chat_server.services.assignment import Assigner
from chat_server.services.campaigns import credit
from chat_server.services.handoff_rules import (
    Actor,
    by,
    can_act,
)
from chat_server.services.notifier import Notifier
from chat_server.services.publisher import Publisher, owner_of
from chat_server.services.queue_notices import QueueNotices
from chat_server.services.segments import traits
from chat_server.services.transitions import apply_transition


class HandoffService:
    """Moves conversations between the bot, the queue and agents, and tells everyone."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        *,
        auto_assign: bool = True,
        support_hours: SupportHours | None = None,
        agent_grace_seconds: float = 60.0,
        reconnect_notice_seconds: float = 15.0,
    ) -> None:
        self._sessions = sessionmaker
        self._notifier = notifier
        self._hours = support_hours
        self._publisher = Publisher(sessionmaker, notifier)
        self.publish = self._publisher.publish
        self.publish_soon = self._publisher.publish_soon
        self.publish_message = self._publisher.publish_message
        self.publish_agent = self._publisher.publish_agent
        self.summary = self._publisher.summary
        self._notices = QueueNotices(sessionmaker, notifier, self.in_grace)
        self.queue_status = self._notices.queue_status
        self.notify_queue = self._notices.notify_queue
        self.estimate_seconds = self._notices.estimate_seconds
        self._tell_visitor = self._notices.tell_visitor
        self._assigner = Assigner(
            sessionmaker,
            notifier,
            self._publisher,
            self._notices,
            self.in_grace,
            auto_assign=auto_assign,
        )
        self.route = self._assigner.route
        self._absence = AgentAbsence(
            sessionmaker,
            notifier,
            self._publisher,
            self._notices,
            route=self.route,
            anyone_online=self.anyone_online,
            hours_text=lambda: self.hours_text,
            grace_seconds=agent_grace_seconds,
            reconnect_notice_seconds=reconnect_notice_seconds,
        )
        self.agent_connected = self._absence.agent_connected
        self.agent_disconnected = self._absence.agent_disconnected
        self.requeue_agent = self._absence.requeue_agent
        self.release_stranded = self._absence.release_stranded

    # -- availability -----------------------------------------------------

    def within_hours(self) -> bool:
        return self._hours is None or self._hours.is_open(utcnow())

    @property
    def hours_text(self) -> str | None:
        return self._hours.text if self._hours else None

    async def anyone_online(self, session: AsyncSession) -> bool:
        """Whether a person can take a conversation now (possibly after a wait)."""
        if not self.within_hours():
            return False
        count = await session.scalar(
            select(func.count()).select_from(Agent).where(Agent.status == "online")
        )
        return bool(count)

    def in_grace(self, agent_id: int) -> bool:
        """The agent's console closed and may come back: no new chats meanwhile."""
        return self._absence.in_grace(agent_id)

    async def change_state(
        self,
        session: AsyncSession,
        conversation: Conversation,
        to: str,
        reason: str,
        actor: Actor,
        **values: Any,
    ) -> None:
        """One transition for a collaborating service (e.g. services/departures.py)."""
        await self._transition(session, conversation, to, reason, actor, **values)

    # -- triggers ---------------------------------------------------------

    async def escalate(self, conversation_id: int, reason: str, actor: Actor) -> bool:
        """Queue a bot conversation for a person; False when nobody is there to take it.

        Call only after checking ``anyone_online`` (the caller offers to take
        a message otherwise).
        """
        async with self._sessions.begin() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None or conversation.state != "bot":
                return False
            await self._transition(
                session,
                conversation,
                "queued",
                reason,
                actor,
                queued_at=utcnow(),
                assigned_agent_id=None,
                fallbacks_in_row=0,
                unread=0,
            )
        await self._notices.announce_queued(conversation)
        await self.route()
        await self.publish(conversation_id)
        return True

    async def accept(self, conversation_id: int, agent: Agent) -> Conversation:
        """An agent takes a queued conversation, or barges in on a bot conversation.

        A conversation that moved between the two meanwhile (the bot handed
        it to the queue while the agent clicked) is still theirs to take: the
        accept is tried again on a fresh read, a few times.
        """
        for attempt in range(3):
            try:
                async with self._sessions.begin() as session:
                    conversation = await self._get(session, conversation_id)
                    if conversation.state == "queued":
                        reason = conversation.handoff_reason or agent_protocol.REASON_REQUESTED
                    elif conversation.state == "bot":
                        reason = agent_protocol.REASON_BARGE_IN
                    else:
                        raise Conflict(conversation.state)
                    await self._assigner.assign(session, conversation, agent, reason, by(agent))
                break
            except Conflict:
                # Say who won (or what the conversation is now), from a fresh read.
                async with self._sessions() as fresh:
                    latest = await self._get(fresh, conversation_id)
                    if latest.state in ("queued", "bot") and attempt < 2:
                        continue
                    owner = await owner_of(fresh, latest)
                    raise Conflict(self._taken_message(latest, owner)) from None
        await self._assigner.after_assignment(conversation, agent, reason)
        if reason != agent_protocol.REASON_BARGE_IN:
            await self.notify_queue()  # everyone behind moves up
        return conversation

    async def transfer(
        self, conversation_id: int, agent: Agent, to_agent_id: int | None, note: str | None
    ) -> Conversation:
        """To an agent who can take a chat now (routing.refusal), or back to the
        queue when ``to_agent_id`` is None; anything else is AgentUnavailable."""
        if to_agent_id is None:
            return await self._transfer_to_queue(conversation_id, agent, note)
        async with self._sessions.begin() as session:
            conversation = await self._owned(session, conversation_id, agent)
            target = await session.get(Agent, to_agent_id)
            if target is None:
                raise NotFound("no such agent")
            if target.id == conversation.assigned_agent_id:
                raise Conflict("the conversation is already theirs")
            loads = await conversation_queries.active_chat_counts(session)
            why = routing.refusal(self._assigner.candidate(target, loads.get(target.id, 0)))
            if why is not None:
                raise AgentUnavailable(why)
            await self._assigner.assign(
                session, conversation, target, agent_protocol.REASON_TRANSFER, by(agent)
            )
            if note:
                await message_queries.add_message(
                    session, conversation, "note", note, agent_id=agent.id
                )
        await self._assigner.after_assignment(conversation, target, agent_protocol.REASON_TRANSFER)
        return conversation

    async def _transfer_to_queue(
        self, conversation_id: int, agent: Agent, note: str | None
    ) -> Conversation:
        async with self._sessions.begin() as session:
            conversation = await self._owned(session, conversation_id, agent)
            await self._transition(
                session,
                conversation,
                "queued",
                agent_protocol.REASON_TRANSFER,
                by(agent),
                assigned_agent_id=None,
                # Ahead of newer chats: this visitor already waited once.
                queued_at=conversation.queued_at or conversation.assigned_at or utcnow(),
            )
            if note:
                await message_queries.add_message(
                    session, conversation, "note", note, agent_id=agent.id
                )
        await self.publish_agent(agent.id)
        await self.route()
        await self.publish(conversation.id)
        return conversation

    async def resolve(self, conversation_id: int, agent: Agent) -> Conversation:
        async with self._sessions.begin() as session:
            conversation = await self._owned(session, conversation_id, agent)
            await self._transition(
                session,
                conversation,
                "resolved",
                conversation.handoff_reason or "resolved",
                by(agent),
                resolved_at=utcnow(),
                unread=0,
            )
        name = agent.display_name
        await self._tell_visitor(
            conversation.visitor_id,
            f"{name} closed this chat. Thanks for talking to us — "
            "I'm here if you need anything else.",
            {"state": visitor_protocol.STATE_RESOLVED, "agent_name": name},
        )
        await self._notifier.to_rapport_visitor(
            conversation.visitor_id,
            visitor_protocol.CSAT_REQUEST,
            {"conversation_id": conversation.id},
        )
        await self.publish(conversation.id)
        await self.route()
        return conversation

    async def hand_back(self, conversation_id: int, agent: Agent) -> Conversation:
        """Back to the bot without resolving; the bot's tracker already holds the human phase."""
        async with self._sessions.begin() as session:
            conversation = await self._owned(session, conversation_id, agent)
            await self._transition(
                session,
                conversation,
                "bot",
                conversation.handoff_reason or "handback",
                by(agent),
                assigned_agent_id=None,
                unread=0,
                fallbacks_in_row=0,
            )
        await self._tell_visitor(
            conversation.visitor_id,
            "You're chatting with our assistant again. "
            "Ask me anything, or ask for a person any time.",
            {"state": visitor_protocol.STATE_BOT},
        )
        await self.publish(conversation.id)
        await self.route()
        return conversation

    async def record_csat(
        self, visitor_id: str, conversation_id: int, score: int, comment: str | None
    ) -> bool:
        """Store the visitor's rating of their own resolved conversation (once)."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Conversation)
                .where(
                    Conversation.id == conversation_id,
                    Conversation.visitor_id == visitor_id,
                    Conversation.state == "resolved",
                    Conversation.csat_score.is_(None),
                )
                .values(csat_score=score, csat_comment=(comment or "").strip() or None)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return False
            rated = await session.get(Conversation, conversation_id)
            await event_queries.log_event(
                session,
                "csat",
                visitor_id,
                conversation_id,
                {
                    "score": score,
                    "comment": bool(comment),
                    "agent_id": rated.assigned_agent_id if rated else None,
                },
            )
            if rated is not None:
                await credit.rated(session, rated, score)
            await traits.set_traits(session, visitor_id, utcnow(), csat_score=score)
        await self.publish(conversation_id)
        return True

    # -- agents -------------------------------------------------------------

    async def set_status(self, agent_id: int, status: str) -> Agent:
        async with self._sessions.begin() as session:
            agent = await session.get(Agent, agent_id)
            if agent is None:
                raise NotFound("no such agent")
            if agent.role == agent_protocol.ROLE_MARKETER and status != "offline":
                raise Forbidden("marketers do not take conversations")
            agent.status = status
        await self.publish_agent(agent_id)
        if status == "online":
            await self.route()
        else:
            await self.release_stranded()
        return agent

    async def close(self) -> None:
        """Stop pending grace timers and publications (server shutdown)."""
        await self._publisher.close()
        await self._absence.close()

    async def _transition(
        self,
        session: AsyncSession,
        conversation: Conversation,
        to: str,
        reason: str,
        actor: Actor,
        target: Agent | None = None,
        **values: Any,
    ) -> None:
        await apply_transition(session, conversation, to, reason, actor, target, **values)

    # -- helpers -----------------------------------------------------------

    async def _get(self, session: AsyncSession, conversation_id: int) -> Conversation:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound("no such conversation")
        return conversation

    async def _owned(
        self, session: AsyncSession, conversation_id: int, agent: Agent
    ) -> Conversation:
        conversation = await self._get(session, conversation_id)
        if conversation.state != "assigned":
            raise Conflict(f"the conversation is {conversation.state}, not assigned")
        if not can_act(agent, conversation):
            raise Forbidden("the conversation is assigned to someone else")
        return conversation

    @staticmethod
    def _taken_message(conversation: Conversation, owner: Agent | None) -> str:
        if conversation.state == "assigned" and owner is not None:
            return f"{owner.display_name} accepted this conversation first"
        return f"the conversation is {conversation.state}"
