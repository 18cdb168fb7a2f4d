"""The event log: interaction events (docs/analytics.md) and the events queued for a
visitor's Rasa tracker. Each function takes an AsyncSession; callers own the transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server import redaction
from chat_server.db.engine import LOGGED_EVENT_TYPES
from chat_server.db.models import InteractionEvent, TrackerOutbox

# REDACT_PII_IN_ANALYTICS: mask PII in interaction events (set by build_services).
_redact_events = False


# INTERACTION_LOG: write the event log at all (set by build_services).
_log_events = True


# Written even with INTERACTION_LOG off: the proof of what a visitor agreed to.
ALWAYS_LOGGED = frozenset({"consent_changed"})


def redact_events(enabled: bool) -> None:
    """Mask emails, phone and card numbers in events logged from now on."""
    global _redact_events
    _redact_events = enabled


def log_events(enabled: bool) -> None:
    """Write interaction events (True) or only those in ALWAYS_LOGGED (False)."""
    global _log_events
    _log_events = enabled


async def log_event(
    session: AsyncSession,
    type_: str,
    visitor_id: str | None,
    conversation_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append one interaction event (docs/analytics.md) to the transaction."""
    if not _log_events and type_ not in ALWAYS_LOGGED:
        return
    data = data or {}
    if _redact_events:
        data = redaction.redact_value(data)
    session.add(
        InteractionEvent(
            type=type_, visitor_id=visitor_id, conversation_id=conversation_id, data=data
        )
    )
    session.info.setdefault(LOGGED_EVENT_TYPES, []).append(type_)


async def log_many(
    session: AsyncSession,
    entries: list[tuple[str, str | None, int | None, dict[str, Any]]],
) -> None:
    """Append many events (type, visitor, conversation, data) with one statement."""
    rows = [
        {
            "type": type_,
            "visitor_id": visitor_id,
            "conversation_id": conversation_id,
            "data": redaction.redact_value(data) if _redact_events else data,
        }
        for type_, visitor_id, conversation_id, data in entries
        if _log_events or type_ in ALWAYS_LOGGED
    ]
    if not rows:
        return
    await session.execute(insert(InteractionEvent), rows)
    session.info.setdefault(LOGGED_EVENT_TYPES, []).extend(row["type"] for row in rows)


async def log_event_once(
    session: AsyncSession,
    type_: str,
    visitor_id: str | None,
    dedupe_key: str,
    data: dict[str, Any],
    conversation_id: int | None = None,
) -> bool:
    """Append an event unless one with ``dedupe_key`` exists; True when added.

    The unique index settles a race between two processes: the loser's
    savepoint is rolled back and it reports a duplicate.
    """
    if not _log_events:
        return True
    if await session.scalar(
        select(InteractionEvent.id).where(InteractionEvent.dedupe_key == dedupe_key)
    ):
        return False
    if _redact_events:
        data = redaction.redact_value(data)
    try:
        async with session.begin_nested():
            session.add(
                InteractionEvent(
                    type=type_,
                    visitor_id=visitor_id,
                    conversation_id=conversation_id,
                    data=data,
                    dedupe_key=dedupe_key,
                )
            )
    except IntegrityError:
        return False
    session.info.setdefault(LOGGED_EVENT_TYPES, []).append(type_)
    return True


async def add_tracker_events(
    session: AsyncSession, visitor_id: str, events: list[dict[str, Any]]
) -> None:
    """Queue events for the visitor's Rasa tracker (sent in order by TrackerSync)."""
    session.add(TrackerOutbox(visitor_id=visitor_id, events=events))
