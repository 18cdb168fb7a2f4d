"""Live visitors for the console: who is on the site now (from Presence), with
who they are and whether they are in a chat; and an agent starting a chat with
one of them."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import conversation_queries, paging, visitor_queries
from chat_server.db.availability import report_failure
from chat_server.db.models import Agent, Conversation, Visitor, as_utc
from chat_server.errors import Conflict, NotFound
from chat_server.protocol import agent as agent_protocol
from chat_server.services.desk import DeskService
from chat_server.services.handoff import HandoffService
from chat_server.services.notifier import Notifier
from chat_server.services.presence import Presence
from chat_server.services.serialize import iso

log = logging.getLogger(__name__)

# A visitor first seen this long before the current visit is "returning".
RETURNING_AFTER = timedelta(minutes=5)


class VisitorOffline(Conflict):
    """The visitor is no longer on the site."""


class LiveVisitorsService:
    """Reads Presence for the console and starts chats with live visitors."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        presence: Presence,
        handoff: HandoffService,
        desk: DeskService,
        notifier: Notifier,
        idle_minutes: int,
    ) -> None:
        self._sessions = sessionmaker
        self._presence = presence
        self._handoff = handoff
        self._desk = desk
        self._notifier = notifier
        self._idle = timedelta(minutes=idle_minutes)
        self._tasks: set[asyncio.Task[None]] = set()

    def changed(self) -> None:
        """Presence changed: tell the consoles (they refetch the list)."""
        task = asyncio.create_task(self._announce())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _announce(self) -> None:
        try:
            await self._notifier.to_agents(
                agent_protocol.LIVE_VISITORS_CHANGED, {"count": len(self._presence.visits())}
            )
        except Exception as error:
            report_failure(error, "live visitors", log, "could not announce live visitors")

    async def current(
        self, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None, int]:
        """A page of everyone on the site now (longest there first): page, time
        on site, who, and their chat; the next page's cursor; how many are on
        the site in all. Raises paging.BadCursor."""
        everyone = self._presence.visits()
        visits, next_cursor = paging.LIVE_VISITORS.in_memory(
            everyone, lambda v: (v.since, v.visitor_id), limit, cursor
        )
        ids = [v.visitor_id for v in visits]
        async with self._sessions() as session:
            visitors = {
                v.id: v for v in await session.scalars(select(Visitor).where(Visitor.id.in_(ids)))
            }
            chats = await self._open_conversations(session, ids)
            names = dict((await session.execute(select(Agent.id, Agent.display_name))).all())
        rows = []
        for visit in visits:
            # No row: a visitor who has not stored anything yet (rows are lazy).
            visitor = visitors.get(visit.visitor_id)
            chat = chats.get(visit.visitor_id)
            rows.append(
                {
                    "visitor_id": visit.visitor_id,
                    "name": visitor.name if visitor else None,
                    "identified": bool(
                        visitor and (visitor.external_id or visitor.name or visitor.email)
                    ),
                    "returning": visitor is not None
                    and as_utc(visitor.created_at) < visit.since - RETURNING_AFTER,
                    "since": iso(visit.since),
                    "page_url": visit.page_url,
                    "page_title": visit.page_title,
                    "conversation": None
                    if chat is None
                    else {
                        "id": chat.id,
                        "state": chat.state,
                        "agent": names.get(chat.assigned_agent_id)
                        if chat.assigned_agent_id
                        else None,
                    },
                }
            )
        return rows, next_cursor, len(everyone)

    async def _open_conversations(
        self, session: AsyncSession, visitor_ids: list[str]
    ) -> dict[str, Conversation]:
        """Each visitor's latest conversation, unless it is over."""
        rows = await session.scalars(
            select(Conversation)
            .where(Conversation.visitor_id.in_(visitor_ids), Conversation.state != "resolved")
            .order_by(Conversation.id)
        )
        return {c.visitor_id: c for c in rows}  # the latest wins

    async def start_chat(self, visitor_id: str, agent: Agent, text: str) -> int:
        """The agent writes first: the visitor's conversation (a new one if none
        is open) is assigned to the agent (a barge-in) and gets ``text``."""
        if not any(v.visitor_id == visitor_id for v in self._presence.visits()):
            async with self._sessions() as session:
                if (
                    await visitor_queries.get_visitor(session, visitor_id) is None
                    and await visitor_queries.first_event_at(session, visitor_id) is None
                ):
                    raise NotFound("no such visitor")
            raise VisitorOffline("this visitor has left the site")
        async with self._sessions.begin() as session:
            await visitor_queries.ensure_visitor(
                session, visitor_id
            )  # an agent chat is worth a row
            conversation = await conversation_queries.open_conversation(
                session, visitor_id, self._idle
            )
        if conversation.state != "assigned" or conversation.assigned_agent_id != agent.id:
            await self._handoff.accept(conversation.id, agent)
        await self._desk.send(conversation.id, agent, text)
        return conversation.id
