"""Export and erase everything stored about one visitor.

Two stores hold a visitor: the chat server's tables and Rasa's SQL tracker
store (table ``events``, keyed by ``sender_id`` = visitor id), which lives in
the same database. Both are read and erased in one transaction.
"""

from __future__ import annotations

import json
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Delete, column, delete, inspect, select, table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server import errors
from chat_server.db import reach_queries, rollup_queries, visitor_queries
from chat_server.db.email_models import OutgoingEmail
from chat_server.db.engagement_models import (
    CampaignAssignment,
    EngagementState,
    VisitorTag,
    VisitorTraits,
)
from chat_server.db.models import (
    Base,
    Conversation,
    Followup,
    InteractionEvent,
    Message,
    TrackerOutbox,
    Visitor,
    WebhookDelivery,
)

TRACKER_TABLE = "events"  # Rasa's SQLTrackerStore table
# Only the columns read or filtered on; Rasa owns the table's schema.
_tracker = table(
    TRACKER_TABLE,
    column("id"),
    column("sender_id"),
    column("type_name"),
    column("timestamp"),
    column("data"),
)


class VisitorNotFound(errors.NotFound):
    """No visitor with that id."""


def _row(obj: Any) -> dict[str, Any]:
    out = {}
    for col in obj.__table__.columns:
        value = getattr(obj, col.key)
        out[col.key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


async def _has_tracker_table(session: AsyncSession) -> bool:
    conn = await session.connection()
    return await conn.run_sync(lambda c: inspect(c).has_table(TRACKER_TABLE))


class PrivacyService:
    """Right of access (export) and right to erasure (delete)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessionmaker

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """The database this service reads and erases (shared with RetentionService)."""
        return self._sessions

    async def export(self, visitor_id: str) -> dict[str, Any]:
        """Everything stored about the visitor, as JSON-ready data."""
        async with self._sessions() as session:
            visitor = await session.get(Visitor, visitor_id)
            # Rows are lazy: a visitor may have page events and no row yet.
            if (
                visitor is None
                and await visitor_queries.first_event_at(session, visitor_id) is None
            ):
                raise VisitorNotFound(visitor_id)
            conversations = await session.scalars(
                select(Conversation)
                .where(Conversation.visitor_id == visitor_id)
                .order_by(Conversation.id)
            )
            messages = await session.scalars(
                select(Message).where(Message.visitor_id == visitor_id).order_by(Message.id)
            )
            events = await session.scalars(
                select(InteractionEvent)
                .where(InteractionEvent.visitor_id == visitor_id)
                .order_by(InteractionEvent.id)
            )
            traits = await session.get(VisitorTraits, visitor_id)
            tags = await session.scalars(
                select(VisitorTag)
                .where(VisitorTag.visitor_id == visitor_id)
                .order_by(VisitorTag.kind, VisitorTag.value)
            )
            arms = await session.scalars(
                select(CampaignAssignment)
                .where(CampaignAssignment.unit == visitor_id)
                .order_by(CampaignAssignment.campaign_id)
            )
            manners = await session.get(EngagementState, visitor_id)
            tracker: list[dict[str, Any]] = []
            if await _has_tracker_table(session):
                rows = await session.execute(
                    select(_tracker.c.type_name, _tracker.c.timestamp, _tracker.c.data)
                    .where(_tracker.c.sender_id == visitor_id)
                    .order_by(_tracker.c.id)
                )
                tracker = [
                    {"type": r.type_name, "timestamp": r.timestamp, "event": json.loads(r.data)}
                    for r in rows
                ]
            return {
                "visitor": _row(visitor) if visitor is not None else None,
                "conversations": [_row(c) for c in conversations],
                "messages": [_row(m) for m in messages],
                "interaction_events": (event_rows := [_row(e) for e in events]),
                # Every consent change with its source (also among the events).
                "consent_records": [
                    e["data"] for e in event_rows if e["type"] == "consent_changed"
                ],
                "tracker_events": tracker,
                "traits": _row(traits) if traits is not None else None,
                "tags": [{"kind": t.kind, "value": t.value} for t in tags],
                "campaign_assignments": [_row(a) for a in arms],
                "campaign_state": _row(manners) if manners is not None else None,
            }

    async def erase(self, visitor_id: str) -> dict[str, int]:
        """Delete the visitor from the chat database and the tracker store."""
        async with self._sessions.begin() as session:
            if (
                await session.get(Visitor, visitor_id) is None
                and await visitor_queries.first_event_at(session, visitor_id) is None
            ):
                raise VisitorNotFound(visitor_id)
            # The analytics rollups forget the visitor in this commit: their
            # stored hours are recomputed after the deletes. The progress row
            # is locked first, the order a fold takes it in.
            await rollup_queries.coverage(session, lock=True)
            hours = await rollup_queries.visitor_hours(session, visitor_id)
            counts = {}
            deletes: tuple[tuple[str, type[Base], ColumnElement[bool]], ...] = (
                ("messages", Message, Message.visitor_id == visitor_id),
                ("followups", Followup, Followup.visitor_id == visitor_id),
                ("tracker_outbox", TrackerOutbox, TrackerOutbox.visitor_id == visitor_id),
                ("interaction_events", InteractionEvent, InteractionEvent.visitor_id == visitor_id),
                ("webhook_deliveries", WebhookDelivery, WebhookDelivery.visitor_id == visitor_id),
                # Their emails, sent or waiting (a queued one is then never sent).
                ("email_outbox", OutgoingEmail, OutgoingEmail.visitor_id == visitor_id),
                ("conversations", Conversation, Conversation.visitor_id == visitor_id),
                # What segments know (services/segments/traits.py).
                ("visitor_tags", VisitorTag, VisitorTag.visitor_id == visitor_id),
                ("visitor_traits", VisitorTraits, VisitorTraits.visitor_id == visitor_id),
                # Campaigns: the arm drawn for them, what they were shown and dismissed.
                (
                    "campaign_assignments",
                    CampaignAssignment,
                    CampaignAssignment.unit == visitor_id,
                ),
                ("engagement_state", EngagementState, EngagementState.unit == visitor_id),
                ("visitors", Visitor, Visitor.id == visitor_id),
            )
            for name, model, owned in deletes:
                counts[name] = await _delete(session, delete(model).where(owned))
            counts["tracker_events"] = await _erase_tracker(session, visitor_id)
            await reach_queries.recompute_hours(session, hours)
            return counts

    async def erase_tracker(self, visitor_id: str) -> int:
        """Delete only the bot's tracker of ``visitor_id`` (after a merge)."""
        async with self._sessions.begin() as session:
            return await _erase_tracker(session, visitor_id)


async def _erase_tracker(session: AsyncSession, visitor_id: str) -> int:
    if not await _has_tracker_table(session):
        return 0
    return await _delete(session, delete(_tracker).where(_tracker.c.sender_id == visitor_id))


async def _delete(session: AsyncSession, statement: Delete) -> int:
    """Run a DELETE; return how many rows it removed."""
    result = await session.execute(statement)
    # A DELETE always yields a CursorResult; AsyncSession.execute is typed as plain Result.
    return cast("CursorResult[Any]", result).rowcount
