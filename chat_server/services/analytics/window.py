"""What a dashboard asks about: a time range, a segment of visitors, and the
SQL conditions that select the matching interaction events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, true

from chat_server.db.models import InteractionEvent as E
from chat_server.db.models import Visitor
from chat_server.protocol.analytics import Segment


@dataclass(frozen=True)
class Window:
    """A dashboard query: events in ``[start, end)`` of the visitors in a segment."""

    start: datetime
    end: datetime
    segment: Segment = "all"
    utm_source: str | None = None
    page: str | None = None
    attribution_days: int = 7
    # A saved segment's members now (segments/service.py members_query).
    members: Select[Any] | None = None

    @property
    def hourly(self) -> bool:
        """Hourly buckets for ranges up to two days, daily ones beyond."""
        return self.end - self.start <= timedelta(days=2)

    def in_range(self) -> ColumnElement[bool]:
        return and_(E.created_at >= self.start, E.created_at < self.end)

    def events(self, *types: str) -> ColumnElement[bool]:
        """Events of ``types`` in the range, of visitors in the segment."""
        return and_(E.type.in_(types), self.in_range(), self.visitors())

    def visitors(self) -> ColumnElement[bool]:
        """The segment and filters as a condition on ``interaction_events.visitor_id``."""
        conditions: list[ColumnElement[bool]] = []
        identified = or_(
            Visitor.external_id.is_not(None), Visitor.name.is_not(None), Visitor.email.is_not(None)
        )
        # Visitors without a row (nothing stored yet, see visitor_queries.ensure_visitor)
        # are new and anonymous.
        if self.segment == "new":
            conditions.append(
                E.visitor_id.not_in(
                    select(Visitor.id).where(
                        or_(Visitor.created_at < self.start, Visitor.created_at >= self.end)
                    )
                )
            )
        elif self.segment == "returning":
            conditions.append(
                E.visitor_id.in_(select(Visitor.id).where(Visitor.created_at < self.start))
            )
        elif self.segment == "identified":
            conditions.append(E.visitor_id.in_(select(Visitor.id).where(identified)))
        elif self.segment == "anonymous":
            conditions.append(E.visitor_id.not_in(select(Visitor.id).where(identified)))
        if self.utm_source is not None:
            conditions.append(E.visitor_id.in_(self._viewers(utm_source=self.utm_source)))
        if self.page is not None:
            conditions.append(E.visitor_id.in_(self._viewers(page=self.page)))
        if self.members is not None:
            conditions.append(E.visitor_id.in_(self.members))
        return and_(true(), *conditions)

    def _viewers(self, utm_source: str | None = None, page: str | None = None) -> Select[Any]:
        """Visitors with a page view in the range from ``utm_source`` / under ``page``."""
        viewed = select(E.visitor_id).where(E.type == "page_view", self.in_range())
        if utm_source is not None:
            viewed = viewed.where(E.data["utm_source"].as_string() == utm_source)
        if page is not None:
            viewed = viewed.where(E.data["path"].as_string().startswith(page, autoescape=True))
        return viewed.distinct()
