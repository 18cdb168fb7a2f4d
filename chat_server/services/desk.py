"""The agent's desk: conversation lists, transcripts, the detail view, replies and
notes, the agents directory and follow-ups. The visitor panel's rules are pure
functions in services/visitor_panel.py; typing and presence are relayed by
services/live_signals.py; canned responses live in services/canned_responses.py.
State changes go through HandoffService.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import (
    conversation_queries,
    event_queries,
    message_queries,
    paging,
    visitor_queries,
)
from chat_server.db.email_models import OutgoingEmail
from chat_server.db.group_commit import GroupCommit
from chat_server.db.models import (
    Agent,
    Conversation,
    Followup,
    Message,
    as_utc,
    utcnow,
)
from chat_server.errors import Conflict, Forbidden, NotFound
from chat_server.protocol import canned
from chat_server.protocol import visitor as visitor_protocol
from chat_server.services import consent, followups, visitor_panel
from chat_server.services.canned_responses import canned_variables
from chat_server.services.handoff import HandoffService
from chat_server.services.handoff_rules import can_act
from chat_server.services.notifier import Notifier
from chat_server.services.serialize import agent_json, message_json
from chat_server.services.tracker_sync import TrackerSync, agent_said


class DeskService:
    """Everything agents read and write apart from state transitions."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        handoff: HandoffService,
        tracker_sync: TrackerSync,
        idle_minutes: int = 60,
        commits: GroupCommit | None = None,
    ) -> None:
        self._sessions = sessionmaker
        # Replies share transactions with concurrent writes (db/group_commit.py).
        self._commits = commits or GroupCommit(sessionmaker)
        self._notifier = notifier
        self._handoff = handoff
        self._tracker_sync = tracker_sync
        self._idle = timedelta(minutes=idle_minutes)

    # -- lists ---------------------------------------------------------------

    def _view_filter(self, view: str, agent: Agent) -> Any:
        active_bot = (Conversation.state == "bot") & (
            Conversation.updated_at >= utcnow() - self._idle
        )
        return {
            "queue": Conversation.state == "queued",
            "mine": (Conversation.state == "assigned")
            & (Conversation.assigned_agent_id == agent.id),
            "open": or_(Conversation.state.in_(("queued", "assigned")), active_bot),
            "bot": active_bot,
            "resolved": Conversation.state == "resolved",
        }[view]

    async def list_conversations(
        self,
        agent: Agent,
        view: str,
        limit: int = 50,
        before_id: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """A page of ``view`` in its order (db/paging.py), the next page's
        cursor (None at the end) and every view's count.

        ``before_id`` (older clients) still filters by id; ``cursor`` is the
        way past the first page. Raises paging.BadCursor.
        """
        ordering = paging.CONVERSATION_VIEWS[view]
        async with self._sessions() as session:
            query = select(Conversation).where(self._view_filter(view, agent))
            if before_id is not None:
                query = query.where(Conversation.id < before_id)
            rows = list(await session.scalars(ordering.apply(query, limit, cursor)))
            shown, next_cursor = ordering.page(
                rows, limit, lambda c: paging.conversation_key(view, c)
            )
            items = [await self._handoff.summary(session, c) for c in shown]
            counts = {}
            # Not "resolved": it only grows, and counting it on every list load costs.
            for name in ("queue", "mine", "open", "bot"):
                counts[name] = int(
                    await session.scalar(
                        select(func.count())
                        .select_from(Conversation)
                        .where(self._view_filter(name, agent))
                    )
                    or 0
                )
        return {"conversations": items, "counts": counts, "next_cursor": next_cursor}

    async def visitor_conversations(
        self,
        visitor_id: str,
        limit: int = 10,
        before_id: int | None = None,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        ordering = paging.VISITOR_HISTORY
        async with self._sessions() as session:
            query = select(Conversation).where(Conversation.visitor_id == visitor_id)
            if before_id is not None:
                query = query.where(Conversation.id < before_id)
            rows = list(await session.scalars(ordering.apply(query, limit, cursor)))
            shown, next_cursor = ordering.page(rows, limit, lambda c: (c.id, c.id))
            items = [await self._handoff.summary(session, c) for c in shown]
        return {
            "conversations": items,
            "next_cursor": next_cursor,
            "next_before_id": shown[-1].id if next_cursor else None,
        }

    # -- one conversation ----------------------------------------------------

    async def detail(self, conversation_id: int) -> dict[str, Any]:
        """Conversation, visitor panel and context summary (services/visitor_panel.py)."""
        async with self._sessions() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                raise NotFound("no such conversation")
            summary = await self._handoff.summary(session, conversation)
            visitor = await visitor_queries.get_visitor(session, conversation.visitor_id)
            consents = await consent.history(session, conversation.visitor_id)
            recent = list(
                await session.scalars(
                    select(Message)
                    .where(Message.visitor_id == conversation.visitor_id)
                    .order_by(Message.id.desc())
                    .limit(200)
                )
            )
            emails = list(
                await session.scalars(
                    select(OutgoingEmail)
                    .where(OutgoingEmail.conversation_id == conversation_id)
                    .order_by(OutgoingEmail.id.desc())
                    .limit(10)
                )
            )
        online = self._notifier.visitor_online(conversation.visitor_id)
        detail = visitor_panel.detail_json(conversation, summary, visitor, online, consents, recent)
        detail["emails"] = [visitor_panel.email_json(e) for e in emails]
        return detail

    async def require_conversation(self, conversation_id: int) -> None:
        """Raise NotFound unless the conversation exists."""
        async with self._sessions() as session:
            if await session.get(Conversation, conversation_id) is None:
                raise NotFound("no such conversation")

    async def messages(
        self,
        conversation_id: int,
        limit: int = 100,
        before_id: int | None = None,
        after_id: int | None = None,
        after_seq: int | None = None,
    ) -> list[dict[str, Any]]:
        """A page of a conversation's messages (``after_seq``, or ``after_id`` for
        older clients: what a reconnecting console missed)."""
        async with self._sessions() as session:
            if await session.get(Conversation, conversation_id) is None:
                raise NotFound("no such conversation")
            rows = await message_queries.conversation_messages(
                session, conversation_id, limit, before_id, after_id, after_seq
            )
            agents = await conversation_queries.agents_by_id(
                session, {m.agent_id for m in rows if m.agent_id is not None}
            )
        return [message_json(m, agents.get(m.agent_id) if m.agent_id else None) for m in rows]

    async def send(
        self,
        conversation_id: int,
        agent: Agent,
        text: str,
        note: bool = False,
        client_id: str | None = None,
    ) -> dict[str, Any]:
        """An agent's reply (to the visitor and the bot's tracker) or internal note.

        A retry carrying the ``client_id`` of a message already stored gets that
        message back: it is not stored, relayed or sent to the bot again.
        """
        outcome = await self._commits.run(
            functools.partial(self._store_reply, conversation_id, agent, text, note, client_id)
        )
        if isinstance(outcome, dict):
            return outcome  # a retry: the message stored before
        conversation, message, text = outcome
        if not note:
            await self._notifier.to_visitor(
                conversation.visitor_id,
                visitor_protocol.BOT_UTTERED,
                {"text": text},
                extras={
                    "message_id": message.id,
                    "seq": message.visitor_seq,
                    "sender": {"type": "agent", "name": agent.display_name},
                },
            )
            await self._notifier.to_rapport_visitor(
                conversation.visitor_id,
                visitor_protocol.AGENT_TYPING,
                {"typing": False, "name": agent.display_name},
            )
            self._tracker_sync.kick(conversation.visitor_id)
        await self._handoff.publish_message(conversation, message, agent)
        self._handoff.publish_soon(conversation.id)
        return message_json(message, agent)

    async def _store_reply(
        self,
        conversation_id: int,
        agent: Agent,
        text: str,
        note: bool,
        client_id: str | None,
        session: AsyncSession,
    ) -> tuple[Conversation, Message, str] | dict[str, Any]:
        """The reply or note in ``session`` (a unit of group commit: it may run
        twice); the stored message before, for a retry."""
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound("no such conversation")
        if client_id is not None:
            earlier = await message_queries.message_by_client_id(
                session, conversation.visitor_id, client_id
            )
            if earlier is not None and earlier.agent_id == agent.id:
                return message_json(earlier, agent)
        if not note:
            if conversation.state != "assigned":
                raise Conflict("accept the conversation before replying")
            if not can_act(agent, conversation):
                raise Forbidden("the conversation is assigned to someone else")
            conversation.unread = 0
            # A canned response's {{variables}} never reach the visitor raw.
            text = canned.render(text, await canned_variables(session, conversation, agent))
            if not text:
                raise Conflict("the message is empty once its variables are filled in")
        first_reply = not note and not await message_queries.has_agent_reply(
            session, conversation.id
        )
        message = await message_queries.add_message(
            session,
            conversation,
            "note" if note else "agent",
            text,
            agent_id=agent.id,
            client_id=client_id,
        )
        if not note:
            await event_queries.add_tracker_events(
                session,
                conversation.visitor_id,
                [agent_said(text, agent.display_name, agent.id)],
            )
            await event_queries.log_event(
                session,
                "agent_message",
                conversation.visitor_id,
                conversation.id,
                {"message_id": message.id, "agent_id": agent.id},
            )
            if first_reply and conversation.queued_at is not None:
                # Measured from the handoff: the bot's turns never count.
                waited = utcnow() - as_utc(conversation.queued_at)
                await event_queries.log_event(
                    session,
                    "agent_first_response",
                    conversation.visitor_id,
                    conversation.id,
                    {"agent_id": agent.id, "seconds": round(waited.total_seconds(), 3)},
                )
        return conversation, message, text

    async def mark_read(self, conversation_id: int, agent: Agent) -> None:
        async with self._sessions.begin() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                raise NotFound("no such conversation")
            if can_act(agent, conversation):
                conversation.unread = 0
        await self._handoff.publish(conversation_id)

    # -- agents ----------------------------------------------------------------

    async def agents(self, limit: int = 500, cursor: str | None = None) -> dict[str, Any]:
        """A page of the agents directory by name, and the next page's cursor."""
        ordering = paging.AGENTS
        async with self._sessions() as session:
            rows = list(await session.scalars(ordering.apply(select(Agent), limit, cursor)))
            shown, next_cursor = ordering.page(rows, limit, lambda a: (a.display_name, a.id))
            loads = await conversation_queries.active_chat_counts(session)
        return {
            "agents": [
                agent_json(a, loads.get(a.id, 0), self._notifier.agent_connected(a.id))
                for a in shown
            ],
            "next_cursor": next_cursor,
        }

    async def agent(self, agent_id: int) -> dict[str, Any]:
        async with self._sessions() as session:
            row = await session.get(Agent, agent_id)
            if row is None:
                raise NotFound("no such agent")
            loads = await conversation_queries.active_chat_counts(session)
        return agent_json(row, loads.get(agent_id, 0), self._notifier.agent_connected(agent_id))

    # -- follow-ups ------------------------------------------------------------

    async def followups(
        self, status: str, limit: int = 100, cursor: str | None = None
    ) -> dict[str, Any]:
        """A page of follow-ups with ``status``, newest first, and the next page's cursor."""
        async with self._sessions() as session:
            rows, next_cursor = await followups.list_followups(session, status, limit, cursor)
        return {"followups": [followups.followup_json(f) for f in rows], "next_cursor": next_cursor}

    async def followup_done(self, followup_id: int, agent: Agent) -> dict[str, Any]:
        async with self._sessions.begin() as session:
            row = await session.get(Followup, followup_id)
            if row is None:
                raise NotFound("no such follow-up")
            row.status = "done"
            row.done_at = utcnow()
            row.done_by = agent.id
        return followups.followup_json(row)
