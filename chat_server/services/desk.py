"""The agent's desk: lists, transcripts, the visitor panel, replies and notes,
canned responses and follow-ups. State changes go through HandoffService.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import queries
from chat_server.db.models import Agent, CannedResponse, Conversation, Followup, Message, utcnow
from chat_server.protocol import agent as agent_protocol
from chat_server.protocol import visitor as visitor_protocol
from chat_server.services import consent, followups
from chat_server.services.handoff import Conflict, Forbidden, HandoffService, NotFound, can_act
from chat_server.services.notifier import Notifier
from chat_server.services.serialize import agent_json, iso, message_json
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
    ) -> None:
        self._sessions = sessionmaker
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
        self, agent: Agent, view: str, limit: int = 50, before_id: int | None = None
    ) -> dict[str, Any]:
        async with self._sessions() as session:
            query = select(Conversation).where(self._view_filter(view, agent))
            if before_id is not None:
                query = query.where(Conversation.id < before_id)
            order = (
                (Conversation.queued_at, Conversation.id)
                if view == "queue"
                else (Conversation.updated_at.desc(), Conversation.id.desc())
            )
            rows = list(await session.scalars(query.order_by(*order).limit(limit)))
            items = [await self._handoff.summary(session, c) for c in rows]
            counts = {}
            for name in ("queue", "mine", "open", "bot"):
                counts[name] = int(
                    await session.scalar(
                        select(func.count())
                        .select_from(Conversation)
                        .where(self._view_filter(name, agent))
                    )
                    or 0
                )
        return {"conversations": items, "counts": counts}

    async def visitor_conversations(
        self, visitor_id: str, limit: int = 10, before_id: int | None = None
    ) -> dict[str, Any]:
        async with self._sessions() as session:
            query = select(Conversation).where(Conversation.visitor_id == visitor_id)
            if before_id is not None:
                query = query.where(Conversation.id < before_id)
            rows = list(await session.scalars(query.order_by(Conversation.id.desc()).limit(limit)))
            items = [await self._handoff.summary(session, c) for c in rows]
        return {
            "conversations": items,
            "next_before_id": rows[-1].id if len(rows) == limit else None,
        }

    # -- one conversation ----------------------------------------------------

    async def detail(self, conversation_id: int) -> dict[str, Any]:
        """Conversation, visitor panel and context summary."""
        async with self._sessions() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                raise NotFound("no such conversation")
            summary = await self._handoff.summary(session, conversation)
            visitor = await queries.get_visitor(session, conversation.visitor_id)
            consents = await consent.history(session, conversation.visitor_id)
            recent = list(
                await session.scalars(
                    select(Message)
                    .where(Message.visitor_id == conversation.visitor_id)
                    .order_by(Message.id.desc())
                    .limit(200)
                )
            )
        profile = dict(visitor.profile or {}) if visitor else {}
        pages: list[dict[str, Any]] = []
        for m in recent:
            if m.page_url and all(p["url"] != m.page_url for p in pages):
                pages.append({"url": m.page_url, "at": iso(m.created_at)})
        intents = [
            {"intent": m.intent, "confidence": m.confidence, "text": m.text}
            for m in recent
            if m.direction == "visitor" and m.intent
        ][:5]
        shown: list[str] = []
        for m in reversed(recent):
            custom = (m.payload or {}).get("custom") if m.direction == "bot" else None
            if isinstance(custom, dict) and custom.get("type") == "product_cards":
                for product in custom.get("products") or []:
                    if isinstance(product, dict) and product.get("id") not in shown:
                        shown.append(str(product.get("id")))
        return {
            "conversation": summary,
            "visitor": {
                "id": conversation.visitor_id,
                "name": visitor.name if visitor else None,
                "email": visitor.email if visitor else None,
                "external_id": visitor.external_id if visitor else None,
                "created_at": iso(visitor.created_at) if visitor else None,
                "last_seen_at": iso(visitor.last_seen_at) if visitor else None,
                "online": self._notifier.visitor_online(conversation.visitor_id),
                "profile": profile,
                "recent_pages": pages[:10],
                "consents": consents[-10:],
            },
            "context": {
                "handoff_reason": conversation.handoff_reason,
                "last_intents": intents,
                "products_shown": shown[-20:],
                "products_clicked": profile.get("products_clicked") or [],
                "products_declined": profile.get("products_declined") or [],
            },
        }

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
    ) -> list[dict[str, Any]]:
        """A page of a conversation's messages (``after_id``: what a reconnecting
        console missed)."""
        async with self._sessions() as session:
            if await session.get(Conversation, conversation_id) is None:
                raise NotFound("no such conversation")
            rows = await queries.conversation_messages(
                session, conversation_id, limit, before_id, after_id
            )
            agents = await queries.agents_by_id(
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
        async with self._sessions.begin() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                raise NotFound("no such conversation")
            if client_id is not None:
                earlier = await queries.message_by_client_id(
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
            first_reply = not note and not await queries.has_agent_reply(session, conversation.id)
            message = await queries.add_message(
                session,
                conversation,
                "note" if note else "agent",
                text,
                agent_id=agent.id,
                client_id=client_id,
            )
            if not note:
                await queries.add_tracker_events(
                    session,
                    conversation.visitor_id,
                    [agent_said(text, agent.display_name, agent.id)],
                )
                await queries.log_event(
                    session,
                    "agent_message",
                    conversation.visitor_id,
                    conversation.id,
                    {"message_id": message.id, "agent_id": agent.id},
                )
                if first_reply and conversation.queued_at is not None:
                    # Measured from the handoff: the bot's turns never count.
                    waited = utcnow() - queries.as_utc(conversation.queued_at)
                    await queries.log_event(
                        session,
                        "agent_first_response",
                        conversation.visitor_id,
                        conversation.id,
                        {"agent_id": agent.id, "seconds": round(waited.total_seconds(), 3)},
                    )
        if not note:
            await self._notifier.to_visitor(
                conversation.visitor_id,
                visitor_protocol.BOT_UTTERED,
                {"text": text},
                extras={
                    "message_id": message.id,
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

    async def mark_read(self, conversation_id: int, agent: Agent) -> None:
        async with self._sessions.begin() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                raise NotFound("no such conversation")
            if can_act(agent, conversation):
                conversation.unread = 0
        await self._handoff.publish(conversation_id)

    # -- typing and presence -------------------------------------------------

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
            conversation = await queries.latest_conversation(session, visitor_id)
        if conversation is not None and conversation.state != "resolved":
            await self._notifier.to_conversation(
                conversation.id,
                conversation.assigned_agent_id,
                agent_protocol.VISITOR_TYPING,
                {"conversation_id": conversation.id, "typing": typing},
            )

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
            conversation = await queries.latest_conversation(session, visitor_id)
        if conversation is not None:
            await self._notifier.to_agents(
                agent_protocol.VISITOR_PRESENCE,
                {
                    "conversation_id": conversation.id,
                    "visitor_id": visitor_id,
                    "online": online,
                },
            )

    # -- agents ----------------------------------------------------------------

    async def agents(self) -> list[dict[str, Any]]:
        async with self._sessions() as session:
            rows = list(await session.scalars(select(Agent).order_by(Agent.display_name)))
            loads = await queries.active_chat_counts(session)
        return [
            agent_json(a, loads.get(a.id, 0), self._notifier.agent_connected(a.id)) for a in rows
        ]

    async def agent(self, agent_id: int) -> dict[str, Any]:
        async with self._sessions() as session:
            row = await session.get(Agent, agent_id)
            if row is None:
                raise NotFound("no such agent")
            loads = await queries.active_chat_counts(session)
        return agent_json(row, loads.get(agent_id, 0), self._notifier.agent_connected(agent_id))

    # -- canned responses ----------------------------------------------------

    async def canned(self) -> list[dict[str, Any]]:
        async with self._sessions() as session:
            rows = await session.scalars(select(CannedResponse).order_by(CannedResponse.shortcut))
            return [{"id": c.id, "shortcut": c.shortcut, "text": c.text} for c in rows]

    async def add_canned(self, agent: Agent, shortcut: str, text: str) -> dict[str, Any]:
        try:
            async with self._sessions.begin() as session:
                row = CannedResponse(
                    shortcut=shortcut, text=text, created_by=agent.id, created_at=utcnow()
                )
                session.add(row)
                await session.flush()
        except IntegrityError:
            raise Conflict(f"/{shortcut} already exists") from None
        return {"id": row.id, "shortcut": row.shortcut, "text": row.text}

    async def delete_canned(self, canned_id: int) -> None:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(CannedResponse).where(CannedResponse.id == canned_id)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                raise NotFound("no such canned response")

    # -- follow-ups ------------------------------------------------------------

    async def followups(self, status: str) -> list[dict[str, Any]]:
        async with self._sessions() as session:
            rows = await followups.list_followups(session, status)
        return [followups.followup_json(f) for f in rows]

    async def followup_done(self, followup_id: int, agent: Agent) -> dict[str, Any]:
        async with self._sessions.begin() as session:
            row = await session.get(Followup, followup_id)
            if row is None:
                raise NotFound("no such follow-up")
            row.status = "done"
            row.done_at = utcnow()
            row.done_by = agent.id
        return followups.followup_json(row)
