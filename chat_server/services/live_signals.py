"""Live signals between a visitor and the agents: typing indicators, a visitor's
presence, and what is going on now (connections, queue, agents online). Nothing
here is stored; it is relayed through the Notifier as it happens.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import conversation_queries
from chat_server.db.models import Agent, Conversation
from chat_server.errors import NotFound
from chat_server.protocol import agent as agent_protocol
from chat_server.protocol import visitor as visitor_protocol
from chat_server.services.handoff_rules import can_act
from chat_server.services.notifier import Notifier

log = logging.getLogger(__name__)

# More visitors than this seen coming or going at once (a node back after a
# Redis outage with thousands on it): the consoles reload instead.
PRESENCE_BATCH_MAX = 1000


class LiveSignals:
    """Typing and presence relayed between the visitor and agent namespaces."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        typing_seen: Callable[[str, bool], Awaitable[None]] | None = None,
    ) -> None:
        self._sessions = sessionmaker
        self._notifier = notifier
        # Campaign manners (MannersStore.record_typing): no opener over a chat
        # the visitor is typing in.
        self._typing_seen = typing_seen
        self._tasks: set[asyncio.Task[None]] = set()

    async def agent_typing(self, conversation_id: int, agent: Agent, typing: bool) -> None:
        async with self._sessions() as session:
            conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound("no such conversation")
        if conversation.state != "assigned" or not can_act(agent, conversation):
            return  # only the agent talking to the visitor is shown typing
        await self._notifier.to_rapport_visitor(
            conversation.visitor_id,
            visitor_protocol.AGENT_TYPING,
            {"typing": typing, "name": agent.display_name},
        )

    async def visitor_typing(self, visitor_id: str, typing: bool) -> None:
        async with self._sessions() as session:
            conversation = await conversation_queries.latest_conversation(session, visitor_id)
        if conversation is not None and conversation.state != "resolved":
            await self._notifier.to_conversation(
                conversation.id,
                conversation.assigned_agent_id,
                agent_protocol.VISITOR_TYPING,
                {"conversation_id": conversation.id, "typing": typing},
            )
        if self._typing_seen is not None:
            try:
                await self._typing_seen(visitor_id, typing)
            except SQLAlchemyError as exc:  # the relay above is what matters now
                log.info("typing of %s not recorded for campaigns: %s", visitor_id, exc)

    async def load(self) -> dict[str, Any]:
        """What is going on now: connections by namespace, queued conversations,
        agents online (for the operator's metrics)."""
        async with self._sessions() as session:
            queued = await session.scalar(
                select(func.count()).select_from(Conversation).where(Conversation.state == "queued")
            )
            online = await session.scalar(
                select(func.count()).select_from(Agent).where(Agent.status == "online")
            )
        return {
            "connections": self._notifier.connections(),
            "queued": int(queued or 0),
            "agents_online": int(online or 0),
        }

    def visitor_online(self, visitor_id: str) -> bool:
        return self._notifier.visitor_online(visitor_id)

    async def visitor_presence(self, visitor_id: str, online: bool) -> None:
        async with self._sessions() as session:
            conversation = await conversation_queries.latest_conversation(session, visitor_id)
        if conversation is not None:
            await self._notifier.to_agents(
                agent_protocol.VISITOR_PRESENCE,
                {
                    "conversation_id": conversation.id,
                    "visitor_id": visitor_id,
                    "online": online,
                },
            )

    def others_changed(self, visitor_ids: Collection[str]) -> None:
        """Visitors connected to other nodes came or went as this node sees
        them: a node is back after a Redis outage (its visitors' `online`
        events were lost with the pub/sub), or went away, or this node learnt
        a second late of a connection. This node's consoles are told what it
        now answers, so the online dots match what they would load."""
        task = asyncio.create_task(self._tell_others_changed(set(visitor_ids)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tell_others_changed(self, visitor_ids: set[str]) -> None:
        try:
            if len(visitor_ids) > PRESENCE_BATCH_MAX:
                await self._notifier.to_agents_here(agent_protocol.RESYNC, {})
                return
            online = sorted(v for v in visitor_ids if self._notifier.visitor_online(v))
            offline = sorted(visitor_ids.difference(online))
            await self._notifier.to_agents_here(
                agent_protocol.VISITORS_PRESENCE, {"online": online, "offline": offline}
            )
        except Exception as error:  # a console missing a dot must not stop the node
            log.warning("could not tell the consoles of presence changes: %s", error)
