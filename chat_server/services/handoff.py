"""Human handoff: the conversation state machine, the queue and routing.

States and the only transitions allowed (everything else is refused)::

    bot ──escalate──► queued ──assign/accept──► assigned ──resolve──► resolved
     ▲  └────────barge-in (accept)─────────────►  │  ▲ │
     └──────────────── hand back ─────────────────┘  │ └─ agent gone ─► queued
                                          transfer ──┘

Every transition is one conditional UPDATE (``WHERE state = <from>``), so two
agents accepting at once cannot both win, on SQLite or PostgreSQL, on one
node or several. Each is stored as a system line in the transcript and an
interaction event with its reason and actor.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import queries
from chat_server.db.models import Agent, Conversation, Message, Visitor, utcnow
from chat_server.protocol import agent as agent_protocol
from chat_server.protocol import visitor as visitor_protocol
from chat_server.services import followups
from chat_server.services.hours import SupportHours
from chat_server.services.notifier import Notifier
from chat_server.services.serialize import agent_json, conversation_json, message_json

log = logging.getLogger(__name__)

TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("bot", "queued"),  # the visitor asked, complained, the bot failed or is down
        ("bot", "assigned"),  # an agent barged in
        ("queued", "assigned"),  # routing or an agent's accept
        ("assigned", "assigned"),  # transfer
        ("assigned", "queued"),  # the agent disconnected for good
        ("assigned", "resolved"),
        ("assigned", "bot"),  # hand back without resolving
    ("queued", "bot"),  # the last agent left: the bot takes a message instead
    }
)

# Seconds a conversation's list entry may lag behind its newest message.
PUBLISH_DELAY = 0.5

REASON_TEXT = {
    agent_protocol.REASON_REQUESTED: "visitor asked for a person",
    agent_protocol.REASON_COMPLAINT: "visitor complained",
    agent_protocol.REASON_FALLBACK: "bot failed twice in a row",
    agent_protocol.REASON_BOT_UNAVAILABLE: "bot unreachable",
    agent_protocol.REASON_BARGE_IN: "agent barged in",
    agent_protocol.REASON_AGENT_DISCONNECTED: "agent disconnected",
    agent_protocol.REASON_TRANSFER: "transferred",
    agent_protocol.REASON_NOBODY_ONLINE: "nobody left online",
}


def handoff_timings(
    origin: str, to: str, conversation: Conversation, now: datetime
) -> dict[str, Any]:
    """What analytics needs from a transition (docs/analytics.md), measured
    from the handoff, so the bot's turns before it never count.

    ``wait_seconds``: time in the queue, on queued → assigned (a requeued
    conversation keeps its first ``queued_at``). ``handoff_seconds``: from the
    handoff (queued, or an agent's barge-in) to resolved.
    """
    timings: dict[str, Any] = {"agent_id": conversation.assigned_agent_id}
    if origin == "queued" and to == "assigned" and conversation.queued_at is not None:
        timings["wait_seconds"] = _seconds_since(conversation.queued_at, now)
    started = conversation.queued_at or conversation.assigned_at
    if to == "resolved" and started is not None:
        timings["handoff_seconds"] = _seconds_since(started, now)
    return timings


def _seconds_since(moment: datetime, now: datetime) -> float:
    return round(max(0.0, (now - queries.as_utc(moment)).total_seconds()), 3)


def transition_line(to: str, reason: str, actor: Actor, target: Agent | None) -> str:
    """The system line agents read in the transcript, e.g. "Assigned to Sam by Alex"."""
    why = REASON_TEXT.get(reason, reason)
    by_agent = actor.agent.display_name if actor.agent else None
    if to == "queued":
        return f"Waiting for a person: {why}"
    if to == "assigned" and target is not None:
        if reason == agent_protocol.REASON_BARGE_IN:
            return f"{target.display_name} joined the conversation"
        if reason == agent_protocol.REASON_TRANSFER and by_agent:
            return f"Transferred to {target.display_name} by {by_agent}"
        if by_agent:
            return f"{by_agent} accepted from the queue ({why})"
        return f"Assigned to {target.display_name} ({why})"
    if to == "resolved":
        return f"Resolved by {by_agent}" if by_agent else "Resolved"
    if to == "bot":
        return f"Handed back to the bot by {by_agent}" if by_agent else "Back to the bot"
    return f"{to.capitalize()}: {why}"


class HandoffError(Exception):
    """Base of the errors an agent action can meet (mapped to HTTP codes)."""

    code = "conflict"


class NotFound(HandoffError):
    code = "not_found"


class Forbidden(HandoffError):
    code = "forbidden"


class Conflict(HandoffError):
    """The conversation is not in a state that allows this (or someone was faster)."""

    code = "conflict"


@dataclass(frozen=True)
class Actor:
    """Who caused a transition: the visitor, the bot, the system or an agent."""

    kind: str
    agent: Agent | None = None

    def as_json(self) -> dict[str, Any]:
        if self.agent is not None:
            return {"kind": self.kind, "agent_id": self.agent.id, "name": self.agent.display_name}
        return {"kind": self.kind}


VISITOR = Actor("visitor")
BOT = Actor("bot")
SYSTEM = Actor("system")


def by(agent: Agent) -> Actor:
    return Actor("agent", agent)


def can_act(agent: Agent, conversation: Conversation) -> bool:
    """The assigned agent, or an admin, may act on an assigned conversation."""
    return conversation.assigned_agent_id == agent.id or agent.role == "admin"


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
    ) -> None:
        self._sessions = sessionmaker
        self._notifier = notifier
        self._auto_assign = auto_assign
        self._hours = support_hours
        self._grace = agent_grace_seconds
        self._routing = asyncio.Lock()
        self._grace_tasks: dict[int, asyncio.Task[None]] = {}
        # Conversations whose list entry changed by a message, published once
        # per PUBLISH_DELAY rather than once per message (see publish_soon).
        self._publish_timers: dict[int, asyncio.TimerHandle] = {}
        self._publish_tasks: set[asyncio.Task[Any]] = set()
        # How long agents recently spent per conversation (seconds), for the
        # visitor's wait estimate.
        self._handle_times: deque[float] = deque(maxlen=50)

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

    async def _available(self, session: AsyncSession) -> list[Agent]:
        """Online agents below their maximum, least loaded first, then longest idle."""
        online = list(await session.scalars(select(Agent).where(Agent.status == "online")))
        loads = await queries.active_chat_counts(session)
        free = [a for a in online if loads.get(a.id, 0) < a.max_chats]
        never = utcnow().replace(year=1970)
        free.sort(key=lambda a: (loads.get(a.id, 0), queries.as_utc(a.last_assigned_at or never)))
        return free

    # -- the one place states change ---------------------------------------

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
        """Move ``conversation`` to ``to`` if nobody changed it meanwhile; log it.

        ``target`` is the agent it is assigned to, for the transcript line.
        """
        origin = conversation.state
        if (origin, to) not in TRANSITIONS:
            raise Conflict(f"a {origin} conversation cannot become {to}")
        now = utcnow()
        result = await session.execute(
            update(Conversation)
            .where(
                Conversation.id == conversation.id,
                Conversation.state == origin,
                # A transfer or a hand-back by someone who is no longer the owner loses.
                Conversation.assigned_agent_id.is_(None)
                if conversation.assigned_agent_id is None
                else Conversation.assigned_agent_id == conversation.assigned_agent_id,
            )
            .values(state=to, handoff_reason=reason, updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("someone else changed this conversation first")
        await session.refresh(conversation)
        transition = {"from": origin, "to": to, "reason": reason, "actor": actor.as_json()}
        text = transition_line(to, reason, actor, target)
        timings = handoff_timings(origin, to, conversation, now)
        await queries.add_message(
            session,
            conversation,
            "system",
            text,
            payload={"transition": transition},
            agent_id=actor.agent.id if actor.agent else None,
        )
        await queries.log_event(
            session,
            "handoff_transition",
            conversation.visitor_id,
            conversation.id,
            {**transition, **timings},
        )

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
        await self._announce_queued(conversation)
        await self.route()
        await self.publish(conversation_id)
        return True

    async def accept(self, conversation_id: int, agent: Agent) -> Conversation:
        """An agent takes a queued conversation, or barges in on a bot conversation."""
        try:
            async with self._sessions.begin() as session:
                conversation = await self._get(session, conversation_id)
                if conversation.state == "queued":
                    reason = conversation.handoff_reason or agent_protocol.REASON_REQUESTED
                elif conversation.state == "bot":
                    reason = agent_protocol.REASON_BARGE_IN
                else:
                    raise Conflict(conversation.state)
                await self._assign(session, conversation, agent, reason, by(agent))
        except Conflict:
            # Say who won (or what the conversation is now), from a fresh read.
            async with self._sessions() as fresh:
                latest = await self._get(fresh, conversation_id)
                raise Conflict(
                    self._taken_message(latest, await self._owner(fresh, latest))
                ) from None
        await self._after_assignment(conversation, agent, reason)
        if reason != agent_protocol.REASON_BARGE_IN:
            await self.notify_queue()  # everyone behind moves up
        return conversation

    async def transfer(
        self, conversation_id: int, agent: Agent, to_agent_id: int, note: str | None
    ) -> Conversation:
        async with self._sessions.begin() as session:
            conversation = await self._owned(session, conversation_id, agent)
            target = await session.get(Agent, to_agent_id)
            if target is None:
                raise NotFound("no such agent")
            if target.id == conversation.assigned_agent_id:
                raise Conflict("the conversation is already theirs")
            await self._assign(
                session, conversation, target, agent_protocol.REASON_TRANSFER, by(agent)
            )
            if note:
                await queries.add_message(session, conversation, "note", note, agent_id=agent.id)
        await self._after_assignment(conversation, target, agent_protocol.REASON_TRANSFER)
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
        self._handled(conversation)
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
        self._handled(conversation)
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
            await queries.log_event(
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
        for timer in self._publish_timers.values():
            timer.cancel()
        self._publish_timers.clear()
        for pending in self._publish_tasks:
            pending.cancel()
        # Wait for them to unwind, so none holds a connection past engine disposal.
        await asyncio.gather(*self._publish_tasks, return_exceptions=True)
        self._publish_tasks.clear()
        for task in self._grace_tasks.values():
            task.cancel()
        await asyncio.gather(*self._grace_tasks.values(), return_exceptions=True)
        self._grace_tasks.clear()

    def agent_connected(self, agent_id: int) -> None:
        """A console connection of the agent arrived: cancel a pending requeue."""
        task = self._grace_tasks.pop(agent_id, None)
        if task is not None:
            task.cancel()

    def agent_disconnected(self, agent_id: int) -> None:
        """The agent's last console connection closed: requeue their chats after the grace."""
        if agent_id not in self._grace_tasks:
            self._grace_tasks[agent_id] = asyncio.create_task(self._expire_agent(agent_id))

    async def _expire_agent(self, agent_id: int) -> None:
        try:
            await asyncio.sleep(self._grace)
            if self._notifier.agent_connected(agent_id):
                return
            await self.requeue_agent(agent_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not requeue the conversations of agent %s", agent_id)
        finally:
            if self._grace_tasks.get(agent_id) is asyncio.current_task():
                del self._grace_tasks[agent_id]

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
                await self._transition(
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
            await self._tell_visitor(
                conversation.visitor_id,
                f"{name} got disconnected. I'm finding someone else from our team for you.",
                None,
            )
        await self.publish_agent(agent_id)
        await self.route()
        for conversation, _ in moved:
            await self.publish(conversation.id)
        await self.notify_queue()
        await self.release_stranded()
        return [c.id for c, _ in moved]

    async def release_stranded(self) -> None:
        """Nobody is online any more: don't leave queued visitors waiting for no one.

        Each queued conversation goes back to the bot, which says so and
        offers to take a message (as when nobody was online to begin with).
        """
        released: list[tuple[Conversation, Message, dict[str, Any]]] = []
        async with self._sessions.begin() as session:
            if await self.anyone_online(session):
                return
            for conversation in await queries.queued_conversations(session):
                try:
                    await self._transition(
                        session, conversation, "bot", agent_protocol.REASON_NOBODY_ONLINE,
                        SYSTEM, fallbacks_in_row=0,
                    )
                except Conflict:
                    continue  # accepted meanwhile
                offer = followups.offer(conversation, self.hours_text)
                message = await queries.add_message(
                    session, conversation, "bot", offer["text"], payload=offer
                )
                released.append((conversation, message, offer))
        for conversation, message, offer in released:
            await self._notifier.to_rapport_visitor(
                conversation.visitor_id, visitor_protocol.HANDOFF_STATUS,
                {"state": visitor_protocol.STATE_BOT},
            )
            plain, extras = visitor_protocol.split_for_plain_clients(offer)
            await self._notifier.to_visitor(
                conversation.visitor_id, visitor_protocol.BOT_UTTERED, plain,
                extras={**extras, "message_id": message.id, "sender": {"type": "bot"}},
            )
            await self.publish_message(conversation, message)
            await self.publish(conversation.id)

    # -- routing ------------------------------------------------------------

    async def route(self) -> None:
        """Assign queued conversations, oldest first, to available agents (auto-assign)."""
        if not self._auto_assign:
            await self.notify_queue()
            return
        async with self._routing:
            while True:
                async with self._sessions.begin() as session:
                    queue = await queries.queued_conversations(session)
                    free = await self._available(session) if queue else []
                    if not queue or not free:
                        break
                    conversation, agent = queue[0], free[0]
                    reason = conversation.handoff_reason or agent_protocol.REASON_REQUESTED
                    try:
                        await self._assign(session, conversation, agent, reason, SYSTEM)
                    except Conflict:
                        continue  # an agent accepted it meanwhile; look again
                await self._after_assignment(conversation, agent, reason)
        await self.notify_queue()

    async def _assign(
        self,
        session: AsyncSession,
        conversation: Conversation,
        agent: Agent,
        reason: str,
        actor: Actor,
    ) -> None:
        now = utcnow()
        await self._transition(
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

    async def _after_assignment(
        self, conversation: Conversation, agent: Agent, reason: str
    ) -> None:
        name = agent.display_name
        text = (
            f"{name} has taken over this chat."
            if reason == agent_protocol.REASON_TRANSFER
            else f"{name} from our team has joined the chat."
        )
        await self._tell_visitor(
            conversation.visitor_id,
            text,
            {"state": visitor_protocol.STATE_ASSIGNED, "agent_name": name},
        )
        summary = await self.publish(conversation.id)
        if summary is not None:
            await self._notifier.to_agent(
                agent.id, agent_protocol.ASSIGNMENT, {"conversation": summary, "reason": reason}
            )
        await self.publish_agent(agent.id)

    # -- what visitors and agents are told ----------------------------------

    def estimate_seconds(self, position: int, capacity: int) -> int | None:
        """How long until a seat frees up for the visitor at ``position``.

        Agents are all busy (or the visitor would be assigned already), so a
        seat frees up every (median handling time / seats online) on average;
        the visitor needs ``position`` of them. None without recent history:
        an honest "we don't know" beats a made-up number.
        """
        if not self._handle_times:
            return None
        return round(statistics.median(self._handle_times) * position / max(1, capacity))

    def _handled(self, conversation: Conversation) -> None:
        if conversation.assigned_at is not None:
            seconds = (utcnow() - queries.as_utc(conversation.assigned_at)).total_seconds()
            self._handle_times.append(seconds)

    async def queue_status(self, conversation_id: int) -> dict[str, Any] | None:
        """The handoff_status a visitor should see for this conversation now."""
        async with self._sessions() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None or conversation.state == "bot":
                return None
            if conversation.state == "assigned":
                owner = await self._owner(session, conversation)
                return {
                    "state": visitor_protocol.STATE_ASSIGNED,
                    "agent_name": owner.display_name if owner else None,
                }
            if conversation.state == "resolved":
                return None
            queue = await queries.queued_conversations(session)
            online = await self._online_capacity(session)
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
            queue = await queries.queued_conversations(session)
            online = await self._online_capacity(session)
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

    async def _announce_queued(self, conversation: Conversation) -> None:
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

    async def _tell_visitor(
        self, visitor_id: str, text: str, status: dict[str, Any] | None
    ) -> None:
        """Plain clients read a sentence; Rapport clients get the structured status."""
        await self._notifier.to_basic_visitor(
            visitor_id, visitor_protocol.BOT_UTTERED, {"text": text}
        )
        if status is not None:
            await self._notifier.to_rapport_visitor(
                visitor_id, visitor_protocol.HANDOFF_STATUS, status
            )

    async def publish(self, conversation_id: int) -> dict[str, Any] | None:
        """Send every agent the conversation's current summary; return it.

        With no console connected there is nobody to tell: the bot path then
        pays nothing for the console (None is returned).
        """
        if not self._notifier.agents_connected():
            return None
        async with self._sessions() as session:
            conversation = await self._get(session, conversation_id)
            summary = await self.summary(session, conversation)
        await self._notifier.to_agents(
            agent_protocol.CONVERSATION_UPDATED, {"conversation": summary}
        )
        return summary

    def publish_soon(self, conversation_id: int) -> None:
        """Publish the conversation's summary shortly, once for a burst of messages.

        Every agent gets every conversation's updates; sending one per message
        would flood each console (measured: with 200 busy conversations,
        message_created waited seconds behind conversation_updated frames).
        State changes are published at once (``publish``).
        """
        if conversation_id in self._publish_timers or not self._notifier.agents_connected():
            return
        self._publish_timers[conversation_id] = asyncio.get_running_loop().call_later(
            PUBLISH_DELAY, self._publish_now, conversation_id
        )

    def _publish_now(self, conversation_id: int) -> None:
        self._publish_timers.pop(conversation_id, None)
        task = asyncio.create_task(self.publish(conversation_id))
        self._publish_tasks.add(task)
        task.add_done_callback(self._publish_done)

    def _publish_done(self, task: asyncio.Task[Any]) -> None:
        self._publish_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("publishing a conversation failed", exc_info=task.exception())

    async def publish_message(
        self, conversation: Conversation, message: Message, agent: Agent | None = None
    ) -> None:
        if not self._notifier.agents_connected():
            return
        await self._notifier.to_conversation(
            conversation.id,
            conversation.assigned_agent_id,
            agent_protocol.MESSAGE_CREATED,
            {"message": message_json(message, agent)},
        )

    async def publish_agent(self, agent_id: int) -> None:
        async with self._sessions() as session:
            agent = await session.get(Agent, agent_id)
            if agent is None:
                return
            loads = await queries.active_chat_counts(session)
        await self._notifier.to_agents(
            agent_protocol.AGENT_UPDATED,
            {
                "agent": agent_json(
                    agent, loads.get(agent_id, 0), self._notifier.agent_connected(agent_id)
                )
            },
        )

    async def summary(self, session: AsyncSession, conversation: Conversation) -> dict[str, Any]:
        """The conversation as agents see it in lists."""
        visitor = await session.get(Visitor, conversation.visitor_id)
        owner = await self._owner(session, conversation)
        last = await session.scalar(
            select(Message)
            .where(Message.conversation_id == conversation.id)
            .order_by(Message.id.desc())
            .limit(1)
        )
        position = None
        if conversation.state == "queued":
            queue = await queries.queued_conversations(session)
            position = next((i + 1 for i, c in enumerate(queue) if c.id == conversation.id), None)
        author = None
        if last is not None and last.agent_id is not None:
            author = owner if owner and owner.id == last.agent_id else await session.get(
                Agent, last.agent_id
            )
        return conversation_json(
            conversation,
            visitor,
            owner,
            last,
            self._notifier.visitor_online(conversation.visitor_id),
            position,
            author,
        )

    # -- helpers -----------------------------------------------------------

    async def _online_capacity(self, session: AsyncSession) -> int:
        """Seats online: the sum of ``max_chats`` of online agents."""
        return int(
            await session.scalar(
                select(func.coalesce(func.sum(Agent.max_chats), 0)).where(Agent.status == "online")
            )
            or 0
        )

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

    async def _owner(self, session: AsyncSession, conversation: Conversation) -> Agent | None:
        if conversation.assigned_agent_id is None:
            return None
        return await session.get(Agent, conversation.assigned_agent_id)

    @staticmethod
    def _taken_message(conversation: Conversation, owner: Agent | None) -> str:
        if conversation.state == "assigned" and owner is not None:
            return f"{owner.display_name} accepted this conversation first"
        return f"the conversation is {conversation.state}"
