"""Page views, widget open/close and conversion goals: the site-side half of
the interaction log (docs/analytics.md). The chat half is written by the
conversation and handoff services in their own transactions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import queries
from chat_server.db.models import utcnow
from chat_server.protocol.visitor import UTM_FIELDS

# UTM values are labels, not text: cut them short.
MAX_UTM = 100


class UnknownGoal(Exception):
    """A goal name that CONVERSION_GOALS does not list."""


@dataclass(frozen=True)
class Goal:
    """A validated conversion goal from Rapport.track()."""

    name: str
    value: float
    currency: str | None
    order_id: str | None
    url: str | None


def page_fields(url: str) -> dict[str, Any]:
    """The path and UTM parameters of a page URL."""
    parts = urlsplit(url)
    query = parse_qs(parts.query, keep_blank_values=False)
    fields: dict[str, Any] = {"path": parts.path or "/"}
    for name in UTM_FIELDS:
        values = query.get(name)
        fields[name] = values[0][:MAX_UTM] if values else None
    return fields


class TrackingService:
    """Logs what visitors do on the site around the chat."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        goals: frozenset[str],
        default_currency: str,
        visit_gap_minutes: int = 60,
    ) -> None:
        self._sessions = sessionmaker
        self._goals = goals
        self._currency = default_currency
        self._visit_gap = timedelta(minutes=visit_gap_minutes)

    async def page_view(
        self, visitor_id: str, url: str, title: str | None, referrer: str | None
    ) -> None:
        """Log a page view; ``returning``: the visitor was first seen before this visit."""
        async with self._sessions.begin() as session:
            visitor = await queries.get_visitor(session, visitor_id)
            if visitor is None:
                return
            returning = queries.as_utc(visitor.created_at) < utcnow() - self._visit_gap
            await queries.log_event(
                session,
                "page_view",
                visitor_id,
                data={
                    "url": url,
                    **page_fields(url),
                    "title": title,
                    "referrer": referrer,
                    "returning": returning,
                },
            )

    async def page_left(self, visitor_id: str, url: str, seconds: float) -> None:
        """Log the time spent on a page."""
        async with self._sessions.begin() as session:
            await queries.log_event(
                session,
                "page_left",
                visitor_id,
                data={"url": url, "path": page_fields(url)["path"], "seconds": round(seconds, 1)},
            )

    async def widget_toggled(self, visitor_id: str, opened: bool, url: str | None) -> None:
        """Log that the visitor opened or closed the chat window."""
        async with self._sessions.begin() as session:
            type_ = "widget_opened" if opened else "widget_closed"
            await queries.log_event(session, type_, visitor_id, data={"url": url})

    async def conversion(self, visitor_id: str, goal: Goal) -> bool:
        """Log a conversion goal; False when this order was already reported.

        Idempotent by (goal, order id): a reloaded thank-you page counts once.
        Goals without an order id are all counted.
        """
        if goal.name not in self._goals:
            raise UnknownGoal(goal.name)
        data = {
            "name": goal.name,
            "value": goal.value,
            "currency": goal.currency or self._currency,
            "order_id": goal.order_id,
            "url": goal.url,
        }
        async with self._sessions.begin() as session:
            conversation = await queries.latest_conversation(session, visitor_id)
            conversation_id = conversation.id if conversation else None
            if goal.order_id is None:
                await queries.log_event(session, "conversion", visitor_id, conversation_id, data)
                return True
            key = f"conversion:{goal.name}:{goal.order_id}"
            return await queries.log_event_once(
                session, "conversion", visitor_id, key, data, conversation_id
            )
