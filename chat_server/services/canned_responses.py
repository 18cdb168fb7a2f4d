"""Canned responses: saved replies with variables (``{{contact.name|there}}``),
rendered for a conversation before an agent sends them (protocol/canned.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db.models import Agent, CannedResponse, Conversation, Visitor, utcnow
from chat_server.errors import Conflict, NotFound
from chat_server.protocol import canned


async def canned_variables(
    session: AsyncSession, conversation: Conversation, agent: Agent | None
) -> dict[str, str | None]:
    """The canned-response variables' values in this conversation, for this agent."""
    visitor = await session.get(Visitor, conversation.visitor_id)
    return canned.contact_values(
        visitor.name if visitor else None,
        visitor.email if visitor else None,
        agent.display_name if agent else None,
    )


class CannedResponses:
    """The team's canned responses."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessionmaker

    async def listed(
        self, agent: Agent | None = None, conversation_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Every canned response; with a conversation, also its ``rendered`` text."""
        async with self._sessions() as session:
            rows = list(
                await session.scalars(select(CannedResponse).order_by(CannedResponse.shortcut))
            )
            values = None
            if conversation_id is not None:
                conversation = await session.get(Conversation, conversation_id)
                if conversation is None:
                    raise NotFound("no such conversation")
                values = await canned_variables(session, conversation, agent)
        listed: list[dict[str, Any]] = []
        for c in rows:
            item: dict[str, Any] = {"id": c.id, "shortcut": c.shortcut, "text": c.text}
            if values is not None:
                item["rendered"] = canned.render(c.text, values)
            listed.append(item)
        return listed

    async def add(self, agent: Agent, shortcut: str, text: str) -> dict[str, Any]:
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

    async def delete(self, canned_id: int) -> None:
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(CannedResponse).where(CannedResponse.id == canned_id)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                raise NotFound("no such canned response")
