"""Page views, widget open/close and conversion goals: the site-side half of
the interaction log (docs/analytics.md). The chat half is written by the
conversation and handoff services in their own transactions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server import errors
from chat_server.db import conversation_queries, event_queries, visitor_queries
from chat_server.db.models import InteractionEvent, as_utc, utcnow
from chat_server.protocol.visitor import UTM_FIELDS
from chat_server.services import revenue
from chat_server.services.campaigns import credit
from chat_server.services.locks import KeyedLocks
from chat_server.services.segments import traits

# UTM values are labels, not text: cut them short.
MAX_UTM = 100


class UnknownGoal(errors.Invalid):
    """A goal name that CONVERSION_GOALS does not list."""


class BadSignature(errors.Forbidden):
    """A signed conversion whose signature does not match (or cannot be checked)."""


# What became of a reported conversion: stored as new, an earlier unverified
# report with the same id upgraded to verified, or already counted.
Outcome = Literal["new", "upgraded", "duplicate"]


@dataclass(frozen=True)
class Goal:
    """A validated conversion goal from Rapport.track()."""

    name: str
    value: float
    currency: str | None
    order_id: str | None
    url: str | None
    # hex HMAC-SHA256 by the site's backend (services/revenue.py); None: unsigned.
    signature: str | None = None


@dataclass(frozen=True)
class VerifiedConversion:
    """A conversion reported by the site's backend (POST /api/conversions)."""

    conversion_id: str
    name: str
    value: float
    currency: str | None
    customer_id: str | None = None
    visitor_id: str | None = None


@dataclass(frozen=True)
class RevenueRules:
    """How much browser-reported value is kept apart as unverified."""

    identity_secret: str | None = None
    unverified_max_value: float = 1000.0
    unverified_max_value_per_day: float = 5000.0


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
        rules: RevenueRules | None = None,
    ) -> None:
        self._sessions = sessionmaker
        self._goals = goals
        self._currency = default_currency
        self._visit_gap = timedelta(minutes=visit_gap_minutes)
        self._rules = rules or RevenueRules()
        # One visitor's unverified values are capped one report at a time.
        self._locks = KeyedLocks()

    async def page_view(
        self,
        visitor_id: str,
        url: str,
        title: str | None,
        referrer: str | None,
        device: str | None = None,
        language: str | None = None,
    ) -> None:
        """Log a page view; ``returning``: the visitor was first seen before this visit.

        ``device`` and ``language``: from the socket's User-Agent and
        Accept-Language (segments/traits.py), for the visitor's traits.
        """
        fields = page_fields(url)
        async with self._sessions.begin() as session:
            # Rows are lazy: without one, first seen is the visitor's first event.
            visitor = await visitor_queries.get_visitor(session, visitor_id)
            first_seen = (
                visitor.created_at
                if visitor is not None
                else await visitor_queries.first_event_at(session, visitor_id)
            )
            returning = first_seen is not None and as_utc(first_seen) < utcnow() - self._visit_gap
            await event_queries.log_event(
                session,
                "page_view",
                visitor_id,
                data={
                    "url": url,
                    **fields,
                    "title": title,
                    "referrer": referrer,
                    "returning": returning,
                },
            )
            await traits.page_view(
                session,
                visitor_id,
                utcnow(),
                self._visit_gap,
                fields,
                traits.referrer_host(referrer, url),
                device,
                language,
            )

    async def page_left(self, visitor_id: str, url: str, seconds: float) -> None:
        """Log the time spent on a page."""
        async with self._sessions.begin() as session:
            await event_queries.log_event(
                session,
                "page_left",
                visitor_id,
                data={"url": url, "path": page_fields(url)["path"], "seconds": round(seconds, 1)},
            )

    async def widget_toggled(self, visitor_id: str, opened: bool, url: str | None) -> None:
        """Log that the visitor opened or closed the chat window."""
        async with self._sessions.begin() as session:
            type_ = "widget_opened" if opened else "widget_closed"
            await event_queries.log_event(session, type_, visitor_id, data={"url": url})

    async def conversion(self, visitor_id: str, goal: Goal) -> bool:
        """Log a conversion from the browser; False when this id was already counted.

        Idempotent by (goal, order id): a reloaded thank-you page counts once.
        Goals without an order id are all counted. A goal signed by the site's
        backend counts as verified revenue; an unsigned one counts as a
        conversion whose value is kept apart as unverified, capped.
        """
        if goal.name not in self._goals:
            raise UnknownGoal(goal.name)
        currency = goal.currency or self._currency
        async with self._locks.hold(visitor_id), self._sessions.begin() as session:
            verified = goal.signature is not None
            if verified:
                await self._check_signature(session, visitor_id, goal, currency)
                value, reported = goal.value, None
            else:
                today = await self._unverified_today(session, visitor_id)
                value = revenue.unverified_amount(
                    goal.value,
                    self._rules.unverified_max_value,
                    self._rules.unverified_max_value_per_day,
                    today,
                )
                reported = goal.value if value != goal.value else None
            data: dict[str, Any] = {
                "name": goal.name,
                "value": value,
                "currency": currency,
                "order_id": goal.order_id,
                "url": goal.url,
                "verified": verified,
                "source": "browser",
            }
            if reported is not None:
                data["reported_value"] = reported  # audit only: never summed
            conversation = await conversation_queries.latest_conversation(session, visitor_id)
            conversation_id = conversation.id if conversation else None
            if goal.order_id is None:
                await event_queries.log_event(
                    session, "conversion", visitor_id, conversation_id, data
                )
                await credit.credit(session, visitor_id, credit.CONVERSION, goal.name)
                await traits.conversion(session, visitor_id, utcnow(), goal.name, value)
                return True
            outcome = await _record(
                session, visitor_id, conversation_id, goal.name, goal.order_id, data
            )
            if outcome == "new":
                await credit.credit(session, visitor_id, credit.CONVERSION, goal.name)
            return outcome != "duplicate"

    async def verified_conversion(self, report: VerifiedConversion) -> tuple[Outcome, str | None]:
        """Log a conversion the site's backend reports; the outcome and the visitor.

        The visitor is the one with ``customer_id`` as verified user id, else
        ``visitor_id``; a conversion neither names is still revenue, credited
        to nobody. An earlier browser report with the same id is upgraded in
        place (counted once), and credited to the visitor named here, if any.
        """
        if report.name not in self._goals:
            raise UnknownGoal(report.name)
        async with self._sessions.begin() as session:
            visitor_id: str | None = None
            if report.customer_id is not None:
                found = await visitor_queries.visitor_by_external_id(session, report.customer_id)
                visitor_id = found.id if found else None
            if visitor_id is None and report.visitor_id is not None:
                found = await visitor_queries.get_visitor(session, report.visitor_id)
                visitor_id = found.id if found else None
            conversation_id = None
            if visitor_id is not None:
                conversation = await conversation_queries.latest_conversation(session, visitor_id)
                conversation_id = conversation.id if conversation else None
            data: dict[str, Any] = {
                "name": report.name,
                "value": report.value,
                "currency": report.currency or self._currency,
                "order_id": report.conversion_id,
                "url": None,
                "verified": True,
                "source": "server",
            }
            outcome = await _record(
                session, visitor_id, conversation_id, report.name, report.conversion_id, data
            )
            if outcome == "new" and visitor_id is not None:
                await credit.credit(session, visitor_id, credit.CONVERSION, report.name)
            return outcome, visitor_id

    async def _check_signature(
        self, session: AsyncSession, visitor_id: str, goal: Goal, currency: str
    ) -> None:
        secret = self._rules.identity_secret
        if secret is None:
            raise BadSignature("signed conversions need IDENTITY_SECRET on this server")
        if goal.order_id is None or goal.currency is None or goal.signature is None:
            raise BadSignature("a signed conversion needs order_id and currency")
        visitor = await visitor_queries.get_visitor(session, visitor_id)
        # Signed for this visitor's verified user id, or for a guest checkout.
        customers: tuple[str | None, ...] = (None,)
        if visitor is not None and visitor.external_id:
            customers = (visitor.external_id, None)
        if not revenue.signature_matches(
            secret, goal.signature, goal.order_id, goal.name, goal.value, currency, customers
        ):
            raise BadSignature("the signature does not match this conversion")

    async def _unverified_today(self, session: AsyncSession, visitor_id: str) -> float:
        """Unverified value already kept for this visitor in the last 24 hours."""
        rows = await session.scalars(
            select(InteractionEvent.data).where(
                InteractionEvent.type == "conversion",
                InteractionEvent.visitor_id == visitor_id,
                InteractionEvent.created_at >= utcnow() - timedelta(days=1),
            )
        )
        return sum(float(data.get("value") or 0) for data in rows if not data.get("verified"))


async def _record(
    session: AsyncSession,
    visitor_id: str | None,
    conversation_id: int | None,
    goal: str,
    conversion_id: str,
    data: dict[str, Any],
) -> Outcome:
    """Store a conversion once per (goal, id); a verified report upgrades an
    unverified one in place instead of counting twice."""
    key = f"conversion:{goal}:{conversion_id}"
    earlier = await session.scalar(
        select(InteractionEvent).where(InteractionEvent.dedupe_key == key)
    )
    if earlier is None:
        added = await event_queries.log_event_once(
            session, "conversion", visitor_id, key, data, conversation_id
        )
        if added and visitor_id is not None:
            await traits.conversion(session, visitor_id, utcnow(), goal, float(data["value"]))
        return "new" if added else "duplicate"
    if earlier.data.get("verified") or not data["verified"]:
        return "duplicate"
    earlier_value = earlier.data.get("value")
    upgraded = {**data, "upgraded_from": {"value": earlier_value}}
    if data.get("url") is None:
        upgraded["url"] = earlier.data.get("url")
    earlier.data = upgraded  # a new dict, so the JSON column is written
    if visitor_id is not None:
        earlier.visitor_id = visitor_id
        earlier.conversation_id = conversation_id
    if earlier.visitor_id is not None:
        correction = float(data["value"]) - float(earlier_value or 0)
        await traits.conversion(
            session, earlier.visitor_id, utcnow(), goal, correction, counted=False
        )
    # The log is append-only for its readers (webhooks send new events only):
    # say that the conversion was verified. Analytics count `conversion` only.
    await event_queries.log_event(
        session,
        "conversion_verified",
        earlier.visitor_id,
        earlier.conversation_id,
        {
            "name": goal,
            "order_id": conversion_id,
            "value": data["value"],
            "currency": data["currency"],
            "unverified_value": earlier_value,
        },
    )
    return "upgraded"
