"""A campaign's opener: can it be delivered, what does it say, store it, send it.

Bot openers come from Rasa's ``trigger_intent`` (intent ``campaign_opener``
with the campaign, the arm and its content as entities), called without an
output channel: the answer's messages are stored here in a new conversation
that names the campaign and arm, then delivered like any bot turn (persist
before relay). Agent openers are a message from the campaign's agent, only
while that agent is online with room for a chat. NPS asks its question in the
widget and stores nothing until the answer.

``prepare`` has no side effect on the chat server's storage: the engine calls
it for every arm before it logs anything, so an opener that cannot be
delivered (Rasa down) leaves no exposure for any arm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db import conversation_queries, event_queries, message_queries, visitor_queries
from chat_server.db.models import Agent, Conversation, Message
from chat_server.protocol import visitor as protocol
from chat_server.rasa_client import IntentNotInDomain, RasaReply, RasaUnavailable
from chat_server.services import routing
from chat_server.services.bot_reply import read_reply
from chat_server.services.campaigns.cache import LiveCampaign
from chat_server.services.experiments.assignment import CONTROL
from chat_server.services.handoff import HandoffService
from chat_server.services.notifier import Notifier
from chat_server.services.tracker_sync import TrackerSync

log = logging.getLogger(__name__)

OPENER_INTENT = "campaign_opener"
BOT, AGENT, NPS = "bot", "agent", "nps"


class OpenerBot(Protocol):
    """What the opener needs of the Rasa client (chat_server/rasa_client.py)."""

    @property
    def rasa_known_down(self) -> bool: ...

    async def rasa_status(self) -> dict[str, Any]: ...

    async def trigger_intent(
        self, sender_id: str, intent: str, entities: dict[str, Any]
    ) -> RasaReply: ...


@dataclass
class Prepared:
    """An opener that can be delivered: what the visitor will be shown (nothing for control)."""

    arm: str
    kind: str
    outgoing: list[dict[str, Any]] = field(default_factory=list)
    agent_id: int | None = None
    agent_name: str | None = None
    question: str | None = None

    @property
    def shown(self) -> bool:
        return self.arm != CONTROL


class OpenerUnavailable(Exception):
    """The opener cannot be delivered now (Rasa down, agent away); nothing is shown."""


def content_of(campaign: LiveCampaign, arm: str) -> dict[str, Any]:
    variant = campaign.variant(arm) or {}
    content = variant.get("content")
    return dict(content) if isinstance(content, dict) else {}


class Openers:
    def __init__(
        self,
        rasa: OpenerBot,
        notifier: Notifier,
        handoff: HandoffService,
        tracker_sync: TrackerSync,
    ) -> None:
        self._rasa = rasa
        self._notifier = notifier
        self._handoff = handoff
        self._tracker_sync = tracker_sync

    async def prepare(
        self, session: AsyncSession, visitor_id: str, campaign: LiveCampaign, arm: str
    ) -> Prepared:
        """What the arm would show, once it is sure it can be shown; else OpenerUnavailable.

        The control arm is checked like a treatment arm would be (Rasa up for a
        bot campaign, the agent free for an agent campaign), so "would have
        shown" is logged exactly when a treatment would have been shown.
        """
        if campaign.kind == NPS:
            question = content_of(campaign, arm).get("question") or content_of(campaign, arm).get(
                "text"
            )
            return Prepared(arm, NPS, question=None if arm == CONTROL else str(question or ""))
        if campaign.kind == AGENT:
            agent = await self._free_agent(session, campaign.agent_id)
            if arm == CONTROL:
                return Prepared(arm, AGENT, agent_id=agent.id)
            text = content_of(campaign, arm).get("text")
            if not text:
                raise OpenerUnavailable("the variant has no text")
            return Prepared(
                arm,
                AGENT,
                [_message(content_of(campaign, arm))],
                agent_id=agent.id,
                agent_name=agent.display_name,
            )
        if arm == CONTROL:
            if self._rasa.rasa_known_down or not (await self._rasa.rasa_status())["ok"]:
                raise OpenerUnavailable("Rasa is down")
            return Prepared(arm, BOT)
        try:
            await self._tracker_sync.flush(visitor_id)
            reply = await self._rasa.trigger_intent(
                visitor_id,
                OPENER_INTENT,
                {
                    "campaign": str(campaign.id),
                    "campaign_variant": arm,
                    "campaign_content": content_of(campaign, arm),
                },
            )
        except (RasaUnavailable, IntentNotInDomain) as exc:
            # IntentNotInDomain: a model trained without the opener intent.
            raise OpenerUnavailable(f"Rasa: {exc}") from exc
        outgoing = read_reply(reply).outgoing
        if not outgoing:
            raise OpenerUnavailable("the bot said nothing")
        return Prepared(arm, BOT, outgoing)

    def hours_open(self) -> bool:
        """Within SUPPORT_HOURS (always, when none are set)."""
        return self._handoff.within_hours()

    async def agent_capacity(self, session: AsyncSession) -> bool:
        """Some agent is online now with room for one more chat."""
        if not self._handoff.within_hours():
            return False
        online = await session.scalars(
            select(Agent).where(Agent.status == "online", Agent.deactivated_at.is_(None))
        )
        loads = await conversation_queries.active_chat_counts(session)
        return any(routing.can_take(self._candidate(a, loads.get(a.id, 0))) for a in online)

    def _candidate(self, agent: Agent, load: int) -> routing.Candidate:
        return routing.Candidate(
            role=agent.role,
            active=agent.active,
            status=agent.status,
            in_grace=self._handoff.in_grace(agent.id),
            load=load,
            max_chats=agent.max_chats,
        )

    async def _free_agent(self, session: AsyncSession, agent_id: int | None) -> Agent:
        agent = await session.get(Agent, agent_id) if agent_id is not None else None
        if agent is None:
            raise OpenerUnavailable("the campaign names no agent")
        if not self._handoff.within_hours() or not self._notifier.agent_connected(agent.id):
            raise OpenerUnavailable("the agent is not online")
        loads = await conversation_queries.active_chat_counts(session)
        if not routing.can_take(self._candidate(agent, loads.get(agent.id, 0))):
            raise OpenerUnavailable("the agent has no free capacity")
        return agent

    async def store(
        self, session: AsyncSession, visitor_id: str, campaign: LiveCampaign, ready: Prepared
    ) -> tuple[Conversation | None, list[tuple[Message, dict[str, Any]]]]:
        """Store a treatment's opener in a new conversation (in the caller's transaction)."""
        if not ready.outgoing:
            return None, []
        await visitor_queries.ensure_visitor(session, visitor_id)
        agent = ready.kind == AGENT
        conversation = Conversation(
            visitor_id=visitor_id,
            state="assigned" if agent else "bot",
            assigned_agent_id=ready.agent_id if agent else None,
            campaign_id=campaign.id,
            campaign_arm=ready.arm,
        )
        session.add(conversation)
        await session.flush()
        await event_queries.log_event(
            session,
            "conversation_started",
            visitor_id,
            conversation.id,
            {"campaign_id": campaign.id, "arm": ready.arm},
        )
        stored = []
        for payload in ready.outgoing:
            message = await message_queries.add_message(
                session,
                conversation,
                "agent" if agent else "bot",
                payload.get("text"),
                payload=payload,
                agent_id=ready.agent_id if agent else None,
            )
            stored.append((message, payload))
        return conversation, stored

    async def deliver(
        self,
        visitor_id: str,
        conversation: Conversation,
        stored: list[tuple[Message, dict[str, Any]]],
        ready: Prepared,
    ) -> None:
        """Emit stored opener messages like any bot (or agent) turn, to every tab.

        An agent's opener first tells the widget it is talking with that
        person (``handoff_status`` assigned, with the name), as when an agent
        takes a chat over, so their reply goes to the agent, not the bot.
        """
        kind = ready.kind
        if kind == AGENT:
            await self._notifier.to_rapport_visitor(
                visitor_id,
                protocol.HANDOFF_STATUS,
                {"state": protocol.STATE_ASSIGNED, "agent_name": ready.agent_name},
            )
        for message, payload in stored:
            plain, extras = protocol.split_for_plain_clients(payload)
            sender: dict[str, Any] = (
                {"type": "agent", "id": message.agent_id, "name": ready.agent_name}
                if kind == AGENT
                else {"type": "bot"}
            )
            await self._notifier.to_visitor(
                visitor_id,
                protocol.BOT_UTTERED,
                plain,
                extras={
                    **extras,
                    "message_id": message.id,
                    "seq": message.visitor_seq,
                    "sender": sender,
                    "campaign_id": conversation.campaign_id,
                },
            )
            await self._handoff.publish_message(conversation, message)
        if kind == AGENT:
            await self._handoff.publish(conversation.id)
        else:
            self._handoff.publish_soon(conversation.id)


def _message(content: dict[str, Any]) -> dict[str, Any]:
    """An agent opener as a bot_uttered payload: text and quick replies."""
    out: dict[str, Any] = {"text": str(content.get("text"))}
    replies = content.get("quick_replies")
    if isinstance(replies, list) and replies:
        out["quick_replies"] = [
            {"content_type": "text", "title": str(r), "payload": str(r)} for r in replies
        ]
    return out
