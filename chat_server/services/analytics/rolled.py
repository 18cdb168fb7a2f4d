"""The dashboard's heavy figures read from the hourly rollups.

Each function is the query of the same name in figures.py with the rollup
rows of the window (db/rollup_queries.py ``rows``: stored hours plus the
rest computed live from the log) in place of the raw events, and gives the
same result; tests/integration/test_analytics_rollups.py compares them.
Only for windows without a visitor filter (see :func:`applies`): segments
and filters are per visitor and read the log.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db import reach_queries as reach
from chat_server.db import rollup_queries as rq
from chat_server.db.models import AnalyticsConversationFlags as F
from chat_server.db.models import InteractionEvent as E
from chat_server.services.analytics import reached
from chat_server.services.analytics.figures import SERIES_TYPES, utm_table
from chat_server.services.analytics.window import Window


def applies(window: Window) -> bool:
    """Rollups hold no visitor attributes: only unfiltered windows read them."""
    return (
        window.segment == "all"
        and window.utm_source is None
        and window.page is None
        and window.members is None
    )


def _rows(
    session: AsyncSession, kind: str, window: Window, cov: rq.Coverage, name: str | None = None
) -> Subquery:
    dialect = session.get_bind().dialect.name
    return rq.rows(dialect, kind, window.start, window.end, cov, name)


async def count(session: AsyncSession, window: Window, cov: rq.Coverage, *types: str) -> int:
    r = _rows(session, "type", window, cov).c
    return int(await session.scalar(select(func.sum(r.n)).where(r.dim1.in_(types))) or 0)


async def counts(
    session: AsyncSession, window: Window, cov: rq.Coverage, types: list[str]
) -> dict[str, int]:
    """count() of each type, in one query (one pass over the live edges)."""
    r = _rows(session, "type", window, cov).c
    found = await session.execute(
        select(r.dim1, func.sum(r.n)).where(r.dim1.in_(types)).group_by(r.dim1)
    )
    result = dict.fromkeys(types, 0)
    result.update({str(t): int(n or 0) for t, n in found.all()})
    return result


def who(session: AsyncSession, window: Window, cov: rq.Coverage, bits: int) -> Select[Any]:
    """The visitors (NULL included, like the log's) with a ``bits`` event."""
    r = _rows(session, "visitor", window, cov, name="who").c
    return select(r.visitor_id).where(rq.has(r.flags, bits)).distinct()


async def visitor_counts(session: AsyncSession, window: Window, cov: rq.Coverage) -> dict[str, int]:
    """In one pass over the range's ``visitor`` rows (or their reach:
    reached.py): ``visitors`` (page view or message), ``chatters``,
    ``widget_only`` (figures.widget_opened_without_message) and the funnel's
    steps ``chat_click`` and ``chat_click_buy`` (a message implies a visit)."""
    low = reach.low_of(window.start, window.end, cov)
    if low is not None:
        found = await reached.visitor_counts(session, window, cov, low)
    else:
        found = await reached.tally(session, _rows(session, "visitor", window, cov).c)
    visitors, chatters, widget_only, anonymous_chat, clicked, bought = found
    return {
        "visitors": visitors,
        "chatters": chatters,
        # figures.py's NOT IN: a message without a visitor leaves no one.
        "widget_only": 0 if anonymous_chat else widget_only,
        "chat_click": clicked,
        "chat_click_buy": bought,
    }


def chatted(session: AsyncSession, window: Window, cov: rq.Coverage) -> ColumnElement[bool]:
    """Whether an event's visitor sent a message in the range (figures.conversions)."""
    low = reach.low_of(window.start, window.end, cov)
    if low is not None:
        return reached.chatted(session, window, cov, low)
    result: ColumnElement[bool] = E.visitor_id.in_(who(session, window, cov, rq.MESSAGE))
    return result


async def conversation_counts(
    session: AsyncSession, window: Window, cov: rq.Coverage
) -> tuple[int, int]:
    """Conversations started in the range that asked for a person at any
    time (before, in or after the range), and those contained (never asked,
    no agent barged in): what the stored hours say of each
    (db/conversation_flags.py) and what the log says since."""
    dialect = session.get_bind().dialect.name
    began = _rows(session, "conversation", window, cov)
    started = began.c
    since = rq.rows(dialect, "conversation", cov.sealed_through, None, cov, name="since").c

    def any_of(bits: int) -> ColumnElement[int]:
        return func.max(case((rq.has(since.flags, bits), 1), else_=0))

    later = (
        select(
            since.conversation_id.label("conversation_id"),
            any_of(rq.ASKED).label("asked"),
            any_of(rq.ASKED | rq.BARGED).label("touched"),
        )
        .group_by(since.conversation_id)
        .subquery("later")
    )
    asked = rq.has(func.coalesce(F.flags, 0), rq.ASKED) | (later.c.asked == 1)
    touched = rq.has(func.coalesce(F.flags, 0), rq.ASKED | rq.BARGED) | (later.c.touched == 1)
    row = (
        await session.execute(
            select(
                func.sum(case((asked, started.n), else_=0)),
                func.sum(case((touched, 0), else_=started.n)),
            )
            .select_from(began)
            .outerjoin(F, F.conversation_id == started.conversation_id)
            .outerjoin(later, later.c.conversation_id == started.conversation_id)
            .where(started.n > 0)
        )
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


async def grouped(
    session: AsyncSession, window: Window, cov: rq.Coverage, kind: str, two: bool = False
) -> list[tuple[Any, ...]]:
    """figures.grouped for bot_replied by intent (``intent``) or cards by
    product and category (``card_impression``, ``card_clicked``)."""
    r = _rows(session, kind, window, cov).c
    keys = [r.dim1, r.dim2] if two else [r.dim1]
    n = func.sum(r.n)
    query = select(*keys, n).group_by(*keys).order_by(n.desc(), *keys)
    # PostgreSQL's sum() of integers is a numeric: counts as ints, like count().
    return [(*row[:-1], int(row[-1])) for row in (await session.execute(query)).all()]


async def cards(
    session: AsyncSession, window: Window, cov: rq.Coverage
) -> dict[tuple[str, str | None], list[int]]:
    table: dict[tuple[str, str | None], list[int]] = {}
    for kind, column in (("card_impression", 0), ("card_clicked", 1)):
        for product, category, n in await grouped(session, window, cov, kind, two=True):
            table.setdefault((str(product), category), [0, 0])[column] += int(n)
    return table


def _bucket(session: AsyncSession, window: Window, hour: Any) -> ColumnElement[Any]:
    """figures._bucket over the rows' hours (an hour is inside one day)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour" if window.hourly else "day", hour)
    pattern = "%Y-%m-%d %H:00:00" if window.hourly else "%Y-%m-%d 00:00:00"
    return func.strftime(pattern, hour)


async def series(session: AsyncSession, window: Window, cov: rq.Coverage) -> list[dict[str, Any]]:
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
    t = _rows(session, "type", window, cov).c
    bucket = _bucket(session, window, t.hour).label("bucket")
    counted = await session.execute(
        select(bucket, t.dim1, func.sum(t.n), func.sum(t.v1), func.sum(t.v2))
        .where(t.dim1.in_(SERIES_TYPES))
        .group_by(bucket, t.dim1)
    )
    # Whole stored days from the daily table (reach_queries), the rest from rows.
    days: dict[datetime, int] = {}
    rest = [(window.start, window.end)]
    if not window.hourly:
        days, rest = await reached.daily_visitors(session, window, cov)
    seen: list[Any] = list(days.items())
    dialect = session.get_bind().dialect.name
    for low, high in rest:
        v = rq.rows(dialect, "visitor", low, high, cov, name="seen").c
        seen_bucket = _bucket(session, window, v.hour).label("bucket")
        found = await session.execute(
            select(seen_bucket, func.count(distinct(v.visitor_id)))
            .where(rq.has(v.flags, rq.PAGE_VIEW | rq.MESSAGE))
            .group_by(seen_bucket)
        )
        seen += found.all()
    for at, type_, n, value, unverified in counted.all():
        point = points.get(rq.moment(at))
        if point is not None:
            point[SERIES_TYPES[type_]] = int(n)
            if type_ == "conversion":
                point["revenue"] = round(float(value or 0), 2)
                point["revenue_unverified"] = round(float(unverified or 0), 2)
    for at, n in seen:
        point = points.get(rq.moment(at))
        if point is not None:
            point["visitors"] = int(n)
    return list(points.values())


async def utm_sources(
    session: AsyncSession, window: Window, cov: rq.Coverage
) -> list[dict[str, Any]]:
    low = reach.low_of(window.start, window.end, cov)
    if low is not None:
        return utm_table(*await reached.utm_sources(session, window, cov, low))
    u = _rows(session, "utm", window, cov).c
    arrivals = select(u.visitor_id.label("visitor_id"), u.dim1.label("source")).distinct()
    a = arrivals.subquery("arrivals").c
    visitors = await session.execute(select(a.source, func.count()).group_by(a.source))
    chatted = await session.execute(
        select(a.source, func.count())
        .where(a.visitor_id.in_(who(session, window, cov, rq.MESSAGE)))
        .group_by(a.source)
    )
    s = _rows(session, "visitor", window, cov).c
    arrived = arrivals.subquery("arrived")
    sales = await session.execute(
        select(arrived.c.source, func.sum(s.n), func.sum(s.v1), func.sum(s.v2))
        .join(arrived, arrived.c.visitor_id == s.visitor_id)
        .where(rq.has(s.flags, rq.CONVERSION))
        .group_by(arrived.c.source)
    )
    return utm_table(visitors.all(), chatted.all(), sales.all())


async def pages(
    session: AsyncSession, window: Window, cov: rq.Coverage, limit: int = 50
) -> list[dict[str, Any]]:
    h = _rows(session, "page_hits", window, cov).c
    n = func.sum(h.n)
    top = (
        await session.execute(
            select(h.dim1, n).group_by(h.dim1).order_by(n.desc(), h.dim1).limit(limit)
        )
    ).all()
    paths = [path for path, _ in top]
    low = reach.low_of(window.start, window.end, cov)
    if low is not None:
        visitors = await reached.page_visitors(session, window, cov, low, paths)
    else:
        p = _rows(session, "page_view", window, cov).c
        found = await session.execute(
            select(p.dim1, func.count(distinct(p.visitor_id)))
            .where(p.dim1.in_([x for x in paths if x is not None]) | p.dim1.is_(None))
            .group_by(p.dim1)
        )
        visitors = {path: int(k) for path, k in found.all()}
    left = _rows(session, "page_left", window, cov).c
    averages = await session.execute(
        select(left.dim1, func.sum(left.v1), func.sum(left.n)).group_by(left.dim1)
    )
    seconds = {path: total / int(k) for path, total, k in averages.all() if k}
    return [
        {
            "path": path,
            "views": int(views_n),
            "visitors": visitors.get(path, 0),
            "avg_seconds": round(float(seconds[path]), 1) if path in seconds else None,
        }
        for path, views_n in top
    ]
