"""What agents' consoles are told about conversations and agents.

Every console keeps every conversation's list entry current: ``publish``
sends a conversation's summary now (state changes), ``publish_soon`` once per
burst of messages, ``publish_message`` a new message to those watching it,
``publish_agent`` an agent's status and load. With no console connected
there is nobody to tell, and the bot path pays nothing for it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import conversation_queries
from chat_server.db.engagement_models import Campaign
from chat_server.db.models import Agent, Conversation, Message, Visitor
from chat_server.errors import NotFound
from chat_server.protocol import agent as agent_protocol
from chat_server.services.notifier import Notifier
from chat_server.services.serialize import agent_json, conversation_json, message_json

log = logging.getLogger(__name__)

# Seconds a conversation's list entry may lag behind its newest message.
PUBLISH_DELAY = 0.5


async def owner_of(session: AsyncSession, conversation: Conversation) -> Agent | None:
    """The agent a conversation is assigned to, if any."""
    if conversation.assigned_agent_id is None:
        return None
    return await session.get(Agent, conversation.assigned_agent_id)


class Publisher:
    """Publishes conversation summaries, messages and agent updates to consoles."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], notifier: Notifier) -> None:
        self._sessions = sessionmaker
        self._notifier = notifier
        # Conversations whose list entry changed by a message, published
        # together once per PUBLISH_DELAY rather than once per message (see
        # publish_soon), with one query per table for all of them.
        self._due: set[int] = set()
        self._tick: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def close(self) -> None:
        """Stop pending publications (server shutdown)."""
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        self._due.clear()
        for pending in self._tasks:
            pending.cancel()
        # Wait for them to unwind, so none holds a connection past engine disposal.
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def publish(self, conversation_id: int) -> dict[str, Any] | None:
        """Send every agent the conversation's current summary; return it.

        With no console connected there is nobody to tell: the bot path then
        pays nothing for the console (None is returned).
        """
        if not self._notifier.agents_connected():
            return None
        async with self._sessions() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                raise NotFound("no such conversation")
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
        if not self._notifier.agents_connected():
            return
        self._due.add(conversation_id)
        if self._tick is None:
            self._tick = asyncio.get_running_loop().call_later(PUBLISH_DELAY, self._publish_due)

    def _publish_due(self) -> None:
        self._tick = None
        due, self._due = self._due, set()
        task = asyncio.create_task(self._publish_many(due))
        self._tasks.add(task)
        task.add_done_callback(self._publish_done)

    async def _publish_many(self, conversation_ids: set[int]) -> None:
        """Every agent gets each conversation's summary, built together."""
        async with self._sessions() as session:
            conversations = list(
                await session.scalars(
                    select(Conversation)
                    .where(Conversation.id.in_(conversation_ids))
                    .order_by(Conversation.id)
                )
            )
            summaries = await self.summaries(session, conversations)
        for summary in summaries:
            await self._notifier.to_agents(
                agent_protocol.CONVERSATION_UPDATED, {"conversation": summary}
            )

    def _publish_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
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
            loads = await conversation_queries.active_chat_counts(session)
        await self._notifier.to_agents(
            agent_protocol.AGENT_UPDATED,
            {
                "agent": agent_json(
                    agent, loads.get(agent_id, 0), self._notifier.agent_connected(agent_id)
                )
            },
        )

    async def summaries(
        self, session: AsyncSession, conversations: list[Conversation]
    ) -> list[dict[str, Any]]:
        """``summary`` for many conversations, with one query per table."""
        if not conversations:
            return []
        ids = [c.id for c in conversations]
        visitors = {
            v.id: v
            for v in await session.scalars(
                select(Visitor).where(Visitor.id.in_({c.visitor_id for c in conversations}))
            )
        }
        newest = (
            select(func.max(Message.id))
            .where(Message.conversation_id.in_(ids))
            .group_by(Message.conversation_id)
        )
        last = {
            m.conversation_id: m
            for m in await session.scalars(select(Message).where(Message.id.in_(newest)))
        }
        agent_ids = {c.assigned_agent_id for c in conversations if c.assigned_agent_id is not None}
        agent_ids |= {m.agent_id for m in last.values() if m.agent_id is not None}
        agents = await conversation_queries.agents_by_id(session, agent_ids)
        positions: dict[int, int] = {}
        if any(c.state == "queued" for c in conversations):
            queue = await conversation_queries.queued_conversations(session)
            positions = {c.id: i + 1 for i, c in enumerate(queue)}
        campaign_ids = {c.campaign_id for c in conversations if c.campaign_id is not None}
        campaigns = (
            {
                c.id: c
                for c in await session.scalars(
                    select(Campaign).where(Campaign.id.in_(campaign_ids))
                )
            }
            if campaign_ids
            else {}
        )
        out = []
        for c in conversations:
            message = last.get(c.id)
            out.append(
                conversation_json(
                    c,
                    visitors.get(c.visitor_id),
                    agents.get(c.assigned_agent_id) if c.assigned_agent_id is not None else None,
                    message,
                    self._notifier.visitor_online(c.visitor_id),
                    positions.get(c.id) if c.state == "queued" else None,
                    agents.get(message.agent_id)
                    if message is not None and message.agent_id is not None
                    else None,
                    campaigns.get(c.campaign_id) if c.campaign_id is not None else None,
                )
            )
        return out

    async def summary(self, session: AsyncSession, conversation: Conversation) -> dict[str, Any]:
        """The conversation as agents see it in lists."""
        visitor = await session.get(Visitor, conversation.visitor_id)
        owner = await owner_of(session, conversation)
        last = await session.scalar(
            select(Message)
            .where(Message.conversation_id == conversation.id)
            .order_by(Message.id.desc())
            .limit(1)
        )
        position = None
        if conversation.state == "queued":
            queue = await conversation_queries.queued_conversations(session)
            position = next((i + 1 for i, c in enumerate(queue) if c.id == conversation.id), None)
        author = None
        if last is not None and last.agent_id is not None:
            author = (
                owner
                if owner and owner.id == last.agent_id
                else await session.get(Agent, last.agent_id)
            )
        campaign = (
            await session.get(Campaign, conversation.campaign_id)
            if conversation.campaign_id is not None
            else None
        )
        return conversation_json(
            conversation,
            visitor,
            owner,
            last,
            self._notifier.visitor_online(conversation.visitor_id),
            position,
            author,
            campaign,
        )
