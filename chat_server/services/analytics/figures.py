"""The SQL behind every dashboard figure (formulas: docs/analytics.md, "Metrics").

Each function reads the event log for one :class:`Window`. Counting happens in
the database; only per-handoff durations (a small share of the log) are
fetched to compute percentiles. Every query filters by type and time first, so
PostgreSQL can use ``ix_interaction_events_type_created_visitor``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db.models import Agent
from chat_server.db.models import InteractionEvent as E
from chat_server.services.analytics.window import Window


def _field(name: str) -> ColumnElement[str]:
    value: ColumnElement[str] = E.data[name].as_string()
    return value


def _number(name: str) -> ColumnElement[float]:
    value: ColumnElement[float] = E.data[name].as_float()
    return value


def _verified() -> ColumnElement[bool]:
    """The conversion's value is verified revenue (vouched for by the site's
    backend). Conversions logged before verification existed are not."""
    value: ColumnElement[bool] = func.coalesce(E.data["verified"].as_boolean(), False)
    return value


def _revenue(verified: bool) -> ColumnElement[float]:
    """The conversion value when it is (un)verified, else 0: sum() it."""
    condition = _verified() if verified else ~_verified()
    value: ColumnElement[float] = case((condition, _number("value")), else_=0.0)
    return value


async def count(session: AsyncSession, window: Window, *types: str) -> int:
    """How many events of ``types``."""
    return int(await session.scalar(select(func.count()).where(window.events(*types))) or 0)


async def counts(session: AsyncSession, window: Window, types: list[str]) -> dict[str, int]:
    """How many events of each of ``types`` (0 for none), in one query."""
    found = await session.execute(
        select(E.type, func.count()).where(window.events(*types)).group_by(E.type)
    )
    result = dict.fromkeys(types, 0)
    result.update({str(t): int(n) for t, n in found.all()})
    return result


async def visitors_with(session: AsyncSession, window: Window, *types: str) -> int:
    """How many distinct visitors have an event of ``types``."""
    # count(*) over a DISTINCT subquery, not count(DISTINCT ...): PostgreSQL
    # can hash (and parallelise) the former; the latter always sorts.
    query = select(func.count()).select_from(who(window, *types).subquery())
    return int(await session.scalar(query) or 0)


def who(window: Window, *types: str) -> Select[Any]:
    """The visitors with an event of ``types`` (a subquery)."""
    return select(E.visitor_id).where(window.events(*types)).distinct()


async def widget_opened_without_message(session: AsyncSession, window: Window) -> int:
    """Visitors who opened the chat but sent nothing in the range."""
    query = select(func.count(distinct(E.visitor_id))).where(
        window.events("widget_opened"), E.visitor_id.not_in(who(window, "message_received"))
    )
    return int(await session.scalar(query) or 0)


def _conversation_has(t: Any, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """An event of the started conversation (alias ``t``) matches ``conditions``."""
    exists: ColumnElement[bool] = (
        select(t.c.id).where(t.c.conversation_id == E.conversation_id, *conditions).exists()
    )
    return exists


async def conversations_asking(session: AsyncSession, window: Window) -> int:
    """Conversations started in the range in which someone asked for a person
    (a ``handoff_requested``, at any time), whether or not one was online."""
    t = E.__table__.alias("t")
    asked = _conversation_has(t, t.c.type == "handoff_requested")
    query = select(func.count()).where(window.events("conversation_started"), asked)
    return int(await session.scalar(query) or 0)


async def conversations_contained(session: AsyncSession, window: Window) -> int:
    """Conversations started in the range that ended without asking for a person
    (no ``handoff_requested``) and that no agent joined uninvited (barge-in)."""
    t = E.__table__.alias("t")
    asked = _conversation_has(t, t.c.type == "handoff_requested")
    barged = _conversation_has(
        t,
        t.c.type == "handoff_transition",
        t.c.data["from"].as_string() == "bot",
        t.c.data["to"].as_string() == "assigned",
    )
    query = select(func.count()).where(window.events("conversation_started"), ~asked, ~barged)
    return int(await session.scalar(query) or 0)


async def reasons(session: AsyncSession, window: Window) -> list[tuple[str, int]]:
    """Per reason: conversations with a handoff request for it in the range."""
    reason = _field("reason")
    query = (
        select(reason, func.count(distinct(E.conversation_id)))
        .where(window.events("handoff_requested"))
        .group_by(reason)
        .order_by(func.count(distinct(E.conversation_id)).desc(), reason)
    )
    return [(str(r), int(n)) for r, n in (await session.execute(query)).all()]


async def grouped(
    session: AsyncSession, window: Window, type_: str, *fields: str, limit: int | None = None
) -> list[tuple[Any, ...]]:
    """Counts of ``type_`` events by the values of ``fields``, most frequent first."""
    keys = [_field(f) for f in fields]
    query = (
        select(*keys, func.count().label("n"))
        .where(window.events(type_))
        .group_by(*keys)
        .order_by(func.count().desc(), *keys)
    )
    if limit is not None:
        query = query.limit(limit)
    return [tuple(row) for row in (await session.execute(query)).all()]


async def unrecognised(
    session: AsyncSession, window: Window, limit: int = 20
) -> list[tuple[str, int]]:
    """The texts the bot did not understand, case-folded, most frequent first."""
    text = func.lower(func.trim(_field("text")))
    query = (
        select(text, func.count())
        .where(window.events("bot_fallback"))
        .group_by(text)
        .order_by(func.count().desc(), text)
        .limit(limit)
    )
    return [(str(t), int(n)) for t, n in (await session.execute(query)).all()]


async def csat_scores(session: AsyncSession, window: Window) -> list[tuple[int | None, int]]:
    """``(agent_id, score)`` of every rating in the range."""
    query = select(E.data["agent_id"].as_integer(), E.data["score"].as_integer()).where(
        window.events("csat")
    )
    return [(agent, int(score)) for agent, score in (await session.execute(query)).all()]


async def agent_roles(session: AsyncSession) -> dict[int, tuple[str, str]]:
    """``agent_id -> (display name, role)`` of every console account."""
    rows = await session.execute(select(Agent.id, Agent.display_name, Agent.role))
    return {agent_id: (name, role) for agent_id, name, role in rows.all()}


async def cards(session: AsyncSession, window: Window) -> dict[tuple[str, str | None], list[int]]:
    """``(product, category) -> [impressions, clicks]``."""
    table: dict[tuple[str, str | None], list[int]] = defaultdict(lambda: [0, 0])
    for type_, column in (("card_impression", 0), ("card_clicked", 1)):
        for product, category, n in await grouped(session, window, type_, "product_id", "category"):
            table[(str(product), category)][column] += int(n)
    return dict(table)


@dataclass(frozen=True)
class Conversion:
    """One conversion in the range and how it relates to chatting."""

    visitor: str | None  # None: reported by the backend for nobody we know
    value: float
    # The value is verified revenue; otherwise it is kept apart as unverified.
    verified: bool
    # The visitor sent a message at most ``attribution_days`` before it.
    attributed: bool
    # The visitor sent a message at any time in the range.
    chatter: bool


async def conversions(
    session: AsyncSession, window: Window, chatted: ColumnElement[bool] | None = None
) -> list[Conversion]:
    """Every conversion in the range (see Conversion); ``chatted``: whether
    its visitor sent a message in the range (a condition on the conversion's
    row), if known another way."""
    attribution = timedelta(days=window.attribution_days)
    m = E.__table__.alias("m")
    last_message = (
        select(func.max(m.c.created_at))
        .where(
            m.c.visitor_id == E.visitor_id,
            m.c.type == "message_received",
            m.c.created_at <= E.created_at,
            m.c.created_at >= window.start - attribution,
        )
        .scalar_subquery()
    )
    chatter = chatted if chatted is not None else E.visitor_id.in_(who(window, "message_received"))
    query = select(
        E.visitor_id, _number("value"), _verified(), E.created_at, last_message, chatter
    ).where(window.events("conversion"))
    rows = []
    for visitor, value, verified, at, chatted_at, in_range in (await session.execute(query)).all():
        attributed = chatted_at is not None and _utc(at) - _utc(chatted_at) <= attribution
        rows.append(
            Conversion(
                None if visitor is None else str(visitor),
                float(value or 0),
                bool(verified),
                attributed,
                bool(in_range),
            )
        )
    return rows


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored in UTC); PostgreSQL aware ones.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _bucket(session: AsyncSession, window: Window) -> ColumnElement[Any]:
    """The start of each event's hour or day (UTC), in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour" if window.hourly else "day", E.created_at)
    pattern = "%Y-%m-%d %H:00:00" if window.hourly else "%Y-%m-%d 00:00:00"
    return func.strftime(pattern, E.created_at)


SERIES_TYPES = {
    "conversation_started": "conversations",
    "message_received": "messages",
    "handoff_requested": "handoffs",
    "conversion": "conversions",
}


async def series(session: AsyncSession, window: Window) -> list[dict[str, Any]]:
    """Per hour or day: visitors, conversations, messages, handoffs, conversions,
    revenue (verified) and unverified value (never part of revenue)."""
    step = timedelta(hours=1) if window.hourly else timedelta(days=1)
    first = window.start.replace(minute=0, second=0, microsecond=0)
    if not window.hourly:
        first = first.replace(hour=0)
    points: dict[datetime, dict[str, Any]] = {}
    moment = first
    while moment < window.end:
        points[moment] = {
            "t": moment.isoformat(),
            "visitors": 0,
            "revenue": 0.0,
            "revenue_unverified": 0.0,
        }
        points[moment].update({name: 0 for name in SERIES_TYPES.values()})
        moment += step
    bucket = _bucket(session, window).label("bucket")
    counted = await session.execute(
        select(bucket, E.type, func.count(), func.sum(_revenue(True)), func.sum(_revenue(False)))
        .where(window.events(*SERIES_TYPES))
        .group_by(bucket, E.type)
    )
    seen = await session.execute(
        select(bucket, func.count(distinct(E.visitor_id)))
        .where(window.events("page_view", "message_received"))
        .group_by(bucket)
    )
    for at, type_, n, value, unverified in counted.all():
        point = points.get(_moment(at))
        if point is not None:
            point[SERIES_TYPES[type_]] = int(n)
            if type_ == "conversion":
                point["revenue"] = round(float(value or 0), 2)
                point["revenue_unverified"] = round(float(unverified or 0), 2)
    for at, n in seen.all():
        point = points.get(_moment(at))
        if point is not None:
            point["visitors"] = int(n)
    return list(points.values())


def _moment(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite's strftime
        value = datetime.fromisoformat(value)
    return _utc(value)


async def funnel(session: AsyncSession, window: Window) -> list[dict[str, Any]]:
    """Visitors at each step, each step among those who made the previous one:
    visit -> chat -> recommendation click -> conversion (one pass over the log)."""

    def did(*types: str) -> ColumnElement[int]:
        return func.max(case((E.type.in_(types), 1), else_=0))

    per_visitor = (
        select(
            did("page_view", "message_received").label("visit"),
            did("message_received").label("chat"),
            did("card_clicked").label("click"),
            did("conversion").label("buy"),
        )
        .where(window.events("page_view", "message_received", "card_clicked", "conversion"))
        .group_by(E.visitor_id)
        .subquery()
    )
    v = per_visitor.c
    totals = (
        await session.execute(
            select(
                func.sum(v.visit),
                func.sum(v.visit * v.chat),
                func.sum(v.visit * v.chat * v.click),
                func.sum(v.visit * v.chat * v.click * v.buy),
            )
        )
    ).one()
    steps = ("visit", "chat", "recommendation_click", "conversion")
    return [{"step": s, "visitors": int(n or 0)} for s, n in zip(steps, totals, strict=True)]


async def utm_sources(session: AsyncSession, window: Window) -> list[dict[str, Any]]:
    """Per UTM source: visitors who arrived from it in the range (a page view
    carrying it), how many of them chatted and converted, their revenue
    (verified) and their unverified value.
    A visitor who came from two sources counts under both."""
    source = _field("utm_source")
    arrivals = (
        select(E.visitor_id.label("visitor_id"), source.label("source"))
        .where(window.events("page_view"), source.is_not(None))
        .distinct()
        .subquery()
    )
    a = arrivals.c
    visitors = await session.execute(select(a.source, func.count()).group_by(a.source))
    chatted = await session.execute(
        select(a.source, func.count())
        .where(a.visitor_id.in_(who(window, "message_received")))
        .group_by(a.source)
    )
    sales = await session.execute(
        select(a.source, func.count(), func.sum(_revenue(True)), func.sum(_revenue(False)))
        .join(arrivals, a.visitor_id == E.visitor_id)
        .where(window.events("conversion"))
        .group_by(a.source)
    )
    return utm_table(visitors.all(), chatted.all(), sales.all())


def utm_table(
    visitors: Sequence[Any], chatted: Sequence[Any], sales: Sequence[Any]
) -> list[dict[str, Any]]:
    """The UTM sources table from its three queries' rows: (source, visitors),
    (source, chatted), (source, conversions, revenue, unverified revenue)."""
    table: dict[str, dict[str, Any]] = {}
    for name, n in visitors:
        table[str(name)] = {
            "source": str(name),
            "visitors": int(n),
            "chatted": 0,
            "conversions": 0,
            "revenue": 0.0,
            "revenue_unverified": 0.0,
        }
    for name, n in chatted:
        table[str(name)]["chatted"] = int(n)
    for name, n, value, unverified in sales:
        table[str(name)].update(
            conversions=int(n),
            revenue=round(float(value or 0), 2),
            revenue_unverified=round(float(unverified or 0), 2),
        )
    return sorted(table.values(), key=lambda r: (-r["visitors"], r["source"]))


async def pages(session: AsyncSession, window: Window, limit: int = 50) -> list[dict[str, Any]]:
    """Per page path: views, distinct visitors, average visible seconds."""
    path = _field("path")
    views = await session.execute(
        select(path, func.count(), func.count(distinct(E.visitor_id)))
        .where(window.events("page_view"))
        .group_by(path)
        .order_by(func.count().desc(), path)
        .limit(limit)
    )
    averages = await session.execute(
        select(path, func.avg(_number("seconds"))).where(window.events("page_left")).group_by(path)
    )
    seconds: dict[str, Any] = {p: avg for p, avg in averages.all()}
    return [
        {
            "path": p,
            "views": int(n),
            "visitors": int(v),
            "avg_seconds": round(float(seconds[p]), 1) if seconds.get(p) is not None else None,
        }
        for p, n, v in views.all()
    ]
