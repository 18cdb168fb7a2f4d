"""Handoffs as episodes: what the human part of a conversation took.

A conversation can be handed to people several times (handed back to the bot,
asked again). Each time is one *episode*, from the moment it left the bot
(``bot → queued``, or an agent's barge-in ``bot → assigned``) until it left
people again (resolved, handed back, released because nobody was left, the
visitor gone...). Requeues and transfers stay inside the episode. Every
duration is measured within one episode, so bot time before a handoff or
after a hand-back never counts, and a second handoff is timed like the first.

Pure functions over ``handoff_transition`` and ``agent_message`` events (the
event log, docs/analytics.md "Definitions"); the SQL that fetches them is
:func:`fetch`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db.models import InteractionEvent as E
from chat_server.services.analytics.window import Window

# States in which people own the conversation.
HUMAN = frozenset({"queued", "assigned"})


@dataclass(frozen=True)
class Event:
    """One ``handoff_transition`` or ``agent_message`` of a conversation."""

    type: str
    conversation_id: int
    at: datetime
    data: dict[str, Any]


@dataclass
class Episode:
    """One handoff of one conversation (see the module docstring)."""

    conversation_id: int
    started_at: datetime
    queued: bool  # False: an agent barged in without the visitor asking
    # (agent_id, when) of every assignment: routing, accept, barge-in, transfer
    assignments: list[tuple[int | None, datetime]] = field(default_factory=list)
    first_response: tuple[int | None, datetime] | None = None
    ended_at: datetime | None = None
    ended_to: str | None = None  # "resolved", "bot", ...; None while still open
    resolver: int | None = None

    def wait(self) -> tuple[int | None, datetime, float] | None:
        """``(agent, assigned_at, seconds)`` from the queue to the first assignment."""
        if not self.queued or not self.assignments:
            return None
        agent, at = self.assignments[0]
        return agent, at, _seconds(self.started_at, at)

    def first_response_seconds(self) -> tuple[int | None, datetime, float] | None:
        """``(agent, at, seconds)`` from the handoff to the first agent message in it."""
        if self.first_response is None:
            return None
        agent, at = self.first_response
        return agent, at, _seconds(self.started_at, at)

    def resolution(self) -> tuple[int | None, datetime, float] | None:
        """``(agent, resolved_at, seconds)`` from the handoff to resolved."""
        if self.ended_to != "resolved" or self.ended_at is None:
            return None
        return self.resolver, self.ended_at, _seconds(self.started_at, self.ended_at)


def _seconds(start: datetime, end: datetime) -> float:
    return round(max(0.0, (end - start).total_seconds()), 3)


def _agent(value: Any) -> int | None:
    return int(value) if value is not None else None


# One event as the walk reads it: (type, conversation, at, from, to, agent_id).
Row = tuple[str, int, datetime, Any, Any, Any]


def episodes(events: Iterable[Event]) -> list[Episode]:
    """Every episode in ``events`` (any order; sorted here by time, stably)."""
    ordered = sorted(events, key=lambda e: (e.conversation_id, e.at))
    return walk(
        (
            e.type,
            e.conversation_id,
            e.at,
            e.data.get("from"),
            e.data.get("to"),
            e.data.get("agent_id"),
        )
        for e in ordered
    )


def walk(rows: Iterable[Row]) -> list[Episode]:
    """Every episode in ``rows``, given in order of conversation and time
    (fetch's query sorts them: no event objects, no second sort)."""
    found: list[Episode] = []
    open_: dict[int, Episode] = {}
    for type_, conversation, at, origin, to, agent in rows:
        current = open_.get(conversation)
        if type_ == "agent_message":
            if current is not None and current.first_response is None:
                current.first_response = (_agent(agent), _utc(at))
            continue
        if current is None and to in HUMAN and origin not in HUMAN:
            # Leaving the bot (or the log starts mid-way: treat as a start).
            current = Episode(int(conversation), _utc(at), queued=to == "queued")
            open_[conversation] = current
            found.append(current)
        if current is None:
            continue
        if to == "assigned":
            current.assignments.append((_agent(agent), _utc(at)))
        elif to not in HUMAN:
            current.ended_at, current.ended_to = _utc(at), str(to)
            if to == "resolved":
                current.resolver = _agent(agent)
            del open_[conversation]
    return found


def in_window(moment: datetime, window: Window) -> bool:
    return window.start <= _utc(moment) < window.end


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored in UTC); PostgreSQL aware ones.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def fetch(session: AsyncSession, window: Window) -> list[Episode]:
    """The episodes of conversations with a handoff event in the range (their
    whole history up to the range's end, so an episode begun earlier is timed
    from its real start). Callers keep the durations that end in the range."""
    touched = (
        select(E.conversation_id)
        .where(window.events("handoff_transition", "agent_message"))
        .distinct()
    )
    # Only the three fields episodes read, extracted by the database (no
    # JSON document decoded per event). Of a run of agent messages with no
    # transition between them only the first can be an episode's first
    # response (an episode starts at a transition), so the rest stay in the
    # database: most of a busy conversation's events are agent messages.
    fields = [E.data[name].as_string().label(name) for name in ("from", "to", "agent_id")]
    order = (E.created_at, E.id)
    previous = func.lag(E.type).over(partition_by=E.conversation_id, order_by=order)
    log = (
        select(E.type, E.conversation_id, E.created_at, E.id, *fields, previous.label("previous"))
        .where(
            E.type.in_(("handoff_transition", "agent_message")),
            E.conversation_id.in_(touched),
            E.created_at < window.end,
        )
        .subquery()
    )
    query = (
        select(log.c.type, log.c.conversation_id, log.c.created_at, log.c["from"], log.c.to)
        .add_columns(log.c.agent_id)
        .where(
            or_(
                log.c.type != "agent_message",
                log.c.previous.is_(None),
                log.c.previous != "agent_message",
            )
        )
        .order_by(log.c.conversation_id, log.c.created_at, log.c.id)
    )
    # Core rows: the ORM's row loading was a third of the time (31,000 rows).
    connection = await session.connection()
    return walk((await connection.execute(query)).all())
