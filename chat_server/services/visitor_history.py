"""What a visitor's client is shown of the past: the latest page, or what
follows its position (docs/protocol.md, "Delivery order")."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import conversation_queries, message_queries
from chat_server.db.models import Message
from chat_server.services.conversations import MAX_RESUME, message_to_wire


class VisitorHistory:
    """Reads a visitor's visible messages as `history` items."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], page_size: int = 50) -> None:
        self._sessions = sessions
        self._page_size = page_size

    async def visible_after(
        self, visitor_id: str, after_seq: int, limit: int = MAX_RESUME
    ) -> list[dict[str, Any]]:
        """What the visitor may see numbered after ``after_seq``, in order."""
        async with self._sessions() as session:
            rows = await message_queries.visible_after_seq(session, visitor_id, after_seq, limit)
            return await _wire(session, rows)

    async def resume(
        self, visitor_id: str, after_seq: int | None = None, after_id: int | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """A (re)connecting client's `history` items and the position they bring it to.

        ``after_seq``: what follows the client's position; ``after_id`` (older
        clients): what is newer than the newest id it saw; neither: the latest
        page. The position is the visitor's newest number once these are shown
        (or, when there is more than MAX_RESUME to send, the last one sent).
        """
        async with self._sessions() as session:
            # Read first: whatever is stored after this comes live or by a catch-up.
            last = await message_queries.visitor_last_seq(session, visitor_id)
            if after_seq is not None and after_seq > last:
                # The client counts further than there is (storage restored
                # from a backup?): the latest page, from which it starts again.
                after_seq = None
            if after_seq is not None:
                rows = await message_queries.visible_after_seq(
                    session, visitor_id, after_seq, MAX_RESUME
                )
            elif after_id is not None:
                rows = await message_queries.messages_after(
                    session, visitor_id, after_id, MAX_RESUME
                )
            else:
                rows = await message_queries.recent_messages(session, visitor_id, self._page_size)
            items = await _wire(session, rows)
        seqs = [m.visitor_seq for m in rows if m.visitor_seq is not None]
        if after_seq is not None and len(rows) >= MAX_RESUME:
            return items, max(seqs, default=after_seq)
        return items, max([last, *seqs])


async def _wire(session: AsyncSession, rows: list[Message]) -> list[dict[str, Any]]:
    """Messages as `history` items, agent messages with their author's name."""
    agents = await conversation_queries.agents_by_id(
        session, {m.agent_id for m in rows if m.agent_id is not None}
    )
    return [
        message_to_wire(m, agents[m.agent_id].display_name if m.agent_id in agents else None)
        for m in rows
    ]
