"""Retention: delete what is older than ``RETENTION_DAYS`` (docs/operations.md, "Privacy").

What goes, when older than the cut-off:

- closed conversations (state ``bot`` or ``resolved``, no message since the
  cut-off) with their messages; queued and assigned conversations stay,
  however old, because a person still owes the visitor an answer;
- interaction events, tracker outbox rows and follow-ups;
- campaign manners state (``engagement_state``: what a visitor was shown and
  dismissed) untouched since the cut-off, also of visitors never stored;
- visitors not seen since the cut-off who have no conversation left, with
  everything else about them including their Rasa tracker (erased exactly as
  a "forget me" request, by ``PrivacyService.erase``).

Deletes run in batches of ``batch_size`` rows, one short transaction each,
so a purge of a large backlog never holds the database (SQLite has a single
writer) long enough to stall visitors' messages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db.availability import report_failure
from chat_server.db.email_models import OutgoingEmail
from chat_server.db.engagement_models import EngagementState
from chat_server.db.models import (
    Conversation,
    Followup,
    InteractionEvent,
    Message,
    TrackerOutbox,
    Visitor,
    WebhookDelivery,
    utcnow,
)
from chat_server.services.privacy import PrivacyService, VisitorNotFound

log = logging.getLogger(__name__)

OPEN_STATES = ("queued", "assigned")


class RetentionService:
    """Deletes old data in bounded batches; ``run`` repeats it on a schedule."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        privacy: PrivacyService,
        days: int,
        check_hours: float,
        batch_size: int = 500,
        events_purged: Callable[[datetime], Awaitable[None]] | None = None,
    ) -> None:
        self._sessions = sessionmaker
        # Told the cutoff after old interaction events are deleted: the
        # analytics rollups forget those hours (services/analytics/rollups.py).
        self._events_purged = events_purged
        self._privacy = privacy
        self.days = days
        self._interval = check_hours * 3600
        self._batch = batch_size

    def cutoff(self, now: datetime | None = None) -> datetime:
        """Rows last touched before this instant are due."""
        return (now or utcnow()) - timedelta(days=self.days)

    async def run(self) -> None:
        """Purge now and then every ``RETENTION_CHECK_HOURS``, until cancelled."""
        if self.days == 0:
            return  # keep forever
        while True:
            try:
                await self.purge()
            except Exception as error:
                # A failed purge (database briefly unavailable) is retried on
                # the next round; it must not end the schedule.
                report_failure(error, "retention purge", log, "retention purge failed")
            await asyncio.sleep(self._interval)

    async def purge(self, dry_run: bool = False, now: datetime | None = None) -> dict[str, int]:
        """Delete (or with ``dry_run`` only count) what is due; return counts per table."""
        if self.days == 0:
            return {}
        cutoff = self.cutoff(now)
        counts: dict[str, int] = {}
        closed_old = Conversation.state.not_in(OPEN_STATES) & (Conversation.updated_at < cutoff)
        if dry_run:
            async with self._sessions() as session:
                ids = select(Conversation.id).where(closed_old)
                counts["conversations"] = await _count(session, ids)
                counts["messages"] = await _count(
                    session, select(Message.id).where(Message.conversation_id.in_(ids))
                )
                for name, model in _DATED:
                    counts[name] = await _count(
                        session, select(model.id).where(model.created_at < cutoff)
                    )
                counts["visitors"] = await _count(session, _inactive_visitors(cutoff))
                counts["engagement_state"] = await _count(
                    session, select(EngagementState.unit).where(EngagementState.updated_at < cutoff)
                )
        else:
            counts["conversations"], counts["messages"] = await self._purge_conversations(
                closed_old
            )
            for name, model in _DATED:
                counts[name] = await self._purge_batches(model, cutoff)
            if self._events_purged is not None:
                await self._events_purged(cutoff)
            counts["visitors"], counts["tracker_events"] = await self._purge_visitors(cutoff)
            counts["engagement_state"] = await self._purge_manners(cutoff)
        log.info(
            "retention %s (older than %s days): %s",
            "dry run" if dry_run else "purge",
            self.days,
            ", ".join(f"{k}={v}" for k, v in counts.items()),
        )
        return counts

    async def _purge_conversations(self, due: ColumnElement[bool]) -> tuple[int, int]:
        conversations = messages = 0
        while True:
            async with self._sessions.begin() as session:
                ids = list(
                    await session.scalars(select(Conversation.id).where(due).limit(self._batch))
                )
                if not ids:
                    return conversations, messages
                messages += _rowcount(
                    await session.execute(delete(Message).where(Message.conversation_id.in_(ids)))
                )
                conversations += _rowcount(
                    await session.execute(delete(Conversation).where(Conversation.id.in_(ids)))
                )
            await asyncio.sleep(0)  # let the chat path in between batches

    async def _purge_batches(self, model: _Dated, cutoff: datetime) -> int:
        total = 0
        while True:
            async with self._sessions.begin() as session:
                ids = list(
                    await session.scalars(
                        select(model.id).where(model.created_at < cutoff).limit(self._batch)
                    )
                )
                if not ids:
                    return total
                total += _rowcount(await session.execute(delete(model).where(model.id.in_(ids))))
            await asyncio.sleep(0)

    async def _purge_manners(self, cutoff: datetime) -> int:
        total = 0
        stale = EngagementState.updated_at < cutoff
        while True:
            async with self._sessions.begin() as session:
                units = list(
                    await session.scalars(
                        select(EngagementState.unit).where(stale).limit(self._batch)
                    )
                )
                if not units:
                    return total
                total += _rowcount(
                    await session.execute(
                        delete(EngagementState).where(EngagementState.unit.in_(units), stale)
                    )
                )
            await asyncio.sleep(0)

    async def _purge_visitors(self, cutoff: datetime) -> tuple[int, int]:
        visitors = tracker_events = 0
        while True:
            async with self._sessions() as session:
                ids = list(await session.scalars(_inactive_visitors(cutoff).limit(self._batch)))
            if not ids:
                return visitors, tracker_events
            for visitor_id in ids:
                try:
                    counts = await self._privacy.erase(visitor_id)
                except VisitorNotFound:
                    continue  # erased meanwhile ("forget me")
                visitors += 1
                tracker_events += counts.get("tracker_events", 0)
                await asyncio.sleep(0)


# Tables purged by their own creation time.
_Dated = (
    type[InteractionEvent]
    | type[TrackerOutbox]
    | type[Followup]
    | type[WebhookDelivery]
    | type[OutgoingEmail]
)
_DATED: tuple[tuple[str, _Dated], ...] = (
    ("interaction_events", InteractionEvent),
    ("tracker_outbox", TrackerOutbox),
    ("followups", Followup),
    # Deliveries carry event data (message texts): kept no longer than the events.
    ("webhook_deliveries", WebhookDelivery),
    # Emails carry message texts too (a queued one that old is never sent).
    ("email_outbox", OutgoingEmail),
)


def _inactive_visitors(cutoff: datetime) -> Select[Any]:
    """Visitors not seen since ``cutoff`` with no conversation that is kept."""
    kept = exists().where(
        Conversation.visitor_id == Visitor.id,
        or_(Conversation.state.in_(OPEN_STATES), Conversation.updated_at >= cutoff),
    )
    return select(Visitor.id).where(Visitor.last_seen_at < cutoff, ~kept)


async def _count(session: AsyncSession, query: Select[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def _rowcount(result: Any) -> int:
    return int(result.rowcount)
