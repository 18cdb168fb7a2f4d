"""The distinct-visitor figures of rolled.py for ranges that run to the end
of the stored hours (every "last N days" view), read from the reach and
daily tables (db/reach_queries.py) instead of a DISTINCT over every
(hour, visitor) rollup row of the range. Same results:
tests/integration/test_analytics_rollups.py compares them with the raw log.

A visitor's figure is split in two: the stored hours ``[low, sealed)``,
where "did X" is "their last hour of X is >= low" (one reach row each),
and the rest of the range computed live from the log (``live``: at most the
partial hour at its start and the hours since the last fold). Visitors seen
live are combined per visitor with their reach row; all the others are
counted straight from the reach rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db import reach_hours
from chat_server.db import reach_queries as reach
from chat_server.db import rollup_queries as rq
from chat_server.db.models import AnalyticsDaily as D
from chat_server.db.models import AnalyticsReach as A
from chat_server.db.models import InteractionEvent as E
from chat_server.services.analytics.window import Window


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _visitor_rows() -> ColumnElement[bool]:
    result: ColumnElement[bool] = and_(A.kind == "visitor", A.dim == "")
    return result


async def tally(session: AsyncSession, rows: Any) -> tuple[int, ...]:
    """rolled.visitor_counts' figures over ``rows`` (visitor_id, flags):
    visitors, chatters, widget only, anonymous chat (0/1), chat and click,
    chat, click and buy."""

    def did(bit: int) -> ColumnElement[int]:
        return func.max(case((rq.has(rows.flags, bit), 1), else_=0))

    per = (
        select(
            rows.visitor_id.label("visitor_id"),
            did(rq.PAGE_VIEW | rq.MESSAGE).label("visit"),
            did(rq.MESSAGE).label("chat"),
            did(rq.WIDGET_OPENED).label("widget"),
            did(rq.CARD_CLICKED).label("click"),
            did(rq.CONVERSION).label("buy"),
        )
        .group_by(rows.visitor_id)
        .subquery()
    )
    v = per.c
    known = v.visitor_id.is_not(None)
    row = (
        await session.execute(
            select(
                func.sum(v.visit),
                func.sum(v.chat),
                func.sum(case((known & (v.widget == 1) & (v.chat == 0), 1), else_=0)),
                func.max(case((~known & (v.chat == 1), 1), else_=0)),
                func.sum(v.chat * v.click),
                func.sum(v.chat * v.click * v.buy),
            )
        )
    ).one()
    return tuple(int(x or 0) for x in row)


async def visitor_counts(
    session: AsyncSession, window: Window, cov: rq.Coverage, low: datetime
) -> tuple[int, ...]:
    """rolled.visitor_counts' tally over the whole range."""
    lv = reach.live(_dialect(session), "visitor", window.start, window.end, cov, "lv").c
    live_keys = select(reach.key(lv.visitor_id))
    # Visitors seen live: their live rows and their reach row, per visitor.
    theirs = select(
        func.nullif(A.visitor_key, "").label("visitor_id"), reach.flags(low).label("flags")
    )
    mixed = union_all(
        select(lv.visitor_id, lv.flags),
        theirs.where(_visitor_rows(), A.visitor_key.in_(live_keys)),
    ).subquery("mixed")
    near = await tally(session, mixed.c)
    # Everyone else: the per-hour counts of every known visitor (reach_hours),
    # less those seen live, plus the row of events without a visitor.
    hours = await reach_hours.since(session, low)
    seen, chat = reach.since(A.seen_hour, low), reach.since(A.message_hour, low)
    widget, click = reach.since(A.widget_hour, low), reach.since(A.click_hour, low)
    buy, known = reach.since(A.conversion_hour, low), A.visitor_key != ""
    sums = select(
        func.sum(seen),
        func.sum(chat),
        func.sum(case((known & (widget == 1) & (chat == 0), 1), else_=0)),
        func.max(case((~known & (chat == 1), 1), else_=0)),
        func.sum(chat * click),
        func.sum(chat * click * buy),
    ).where(_visitor_rows())
    live_known = (await session.execute(sums.where(known, A.visitor_key.in_(live_keys)))).one()
    anonymous = (await session.execute(sums.where(~known, A.visitor_key.not_in(live_keys)))).one()
    stored = (
        hours["seen"],
        hours["chat"],
        hours["widget"] - hours["widget_chat"],
        0,
        hours["chat_click"],
        hours["chat_click_buy"],
    )
    far = [
        a - int(b or 0) + int(c or 0) for a, b, c in zip(stored, live_known, anonymous, strict=True)
    ]
    far[3] = int(anonymous[3] or 0)
    total = [a + int(b or 0) for a, b in zip(near, far, strict=True)]
    total[3] = max(near[3], int(far[3] or 0))
    return tuple(total)


def chatted(
    session: AsyncSession, window: Window, cov: rq.Coverage, low: datetime
) -> ColumnElement[bool]:
    """Whether an event's visitor sent a message in the range: their reach
    row (one key lookup per event) or a live message."""
    lv = reach.live(_dialect(session), "visitor", window.start, window.end, cov, "chat_live").c
    # A scalar subquery: one key lookup per event (an EXISTS here is planned
    # as a hash of every chatter).
    last = (
        select(A.message_hour)
        .where(_visitor_rows(), A.visitor_key == E.visitor_id)
        .scalar_subquery()
    )
    stored = last >= low
    live = E.visitor_id.in_(select(lv.visitor_id).where(rq.has(lv.flags, rq.MESSAGE)))
    result: ColumnElement[bool] = stored | live
    return result


async def daily_visitors(
    session: AsyncSession, window: Window, cov: rq.Coverage
) -> tuple[dict[datetime, int], list[tuple[datetime, datetime]]]:
    """The stored days' distinct visitors for the whole UTC days of the
    range that are stored, and the parts of the range left to count."""
    sealed = cov.sealed_through
    first = reach.ceil_day(window.start)
    last = reach.floor_day(min(sealed, window.end)) if sealed is not None else first
    if last <= first:
        return {}, [(window.start, window.end)]
    found = await session.execute(select(D.day, D.visitors).where(D.day >= first, D.day < last))
    days = {rq.moment(day): int(n) for day, n in found.all()}
    rest = [(window.start, first), (last, window.end)]
    return days, [(a, b) for a, b in rest if a < b]


class _Pairs:
    """(dim, key) once for each source or path and visitor with a page view
    in the range, in two disjoint parts: ``stored`` (reach rows whose last
    view is in the stored hours of the range) and ``fresh`` (pairs seen live
    only, computed from the log: few)."""

    def __init__(
        self, session: AsyncSession, window: Window, cov: rq.Coverage, low: datetime, kind: str
    ) -> None:
        rollup_kind = {"utm": "utm", "page": "page_view"}[kind]
        lp = reach.live(
            _dialect(session), rollup_kind, window.start, window.end, cov, f"{kind}_live"
        ).c
        self.kind, self.low = kind, low
        pairs = (
            select(
                func.coalesce(lp.dim1, "").label("dim"),
                reach.key(lp.visitor_id).label("visitor_key"),
            )
            .distinct()
            .subquery(f"{kind}_pairs")
        )
        stored_too = (
            select(literal(1))
            .where(
                A.kind == kind,
                A.dim == pairs.c.dim,
                A.visitor_key == pairs.c.visitor_key,
                A.seen_hour >= low,
            )
            .exists()
        )
        self.fresh = (
            select(pairs.c.dim, pairs.c.visitor_key).where(~stored_too).subquery(f"{kind}_fresh")
        )

    def stored(self) -> ColumnElement[bool]:
        result: ColumnElement[bool] = and_(A.kind == self.kind, A.seen_hour >= self.low)
        return result

    async def counts(self, session: AsyncSession, dims: list[str] | None = None) -> dict[str, int]:
        """Pairs per dim (``dims``: only these), '' visitors included."""
        where = [self.stored()] + ([A.dim.in_(dims)] if dims is not None else [])
        f = self.fresh.c
        fresh_where = [f.dim.in_(dims)] if dims is not None else []
        found: dict[str, int] = {}
        for query in (
            select(A.dim, func.count()).where(*where).group_by(A.dim),
            select(f.dim, func.count()).where(*fresh_where).group_by(f.dim),
        ):
            for dim, n in (await session.execute(query)).all():
                found[dim] = found.get(dim, 0) + int(n)
        return found

    async def anonymous(self, session: AsyncSession) -> set[str]:
        """The dims with a pair of events without a visitor."""
        f = self.fresh.c
        stored = select(A.dim).where(A.visitor_key == "", self.stored())
        fresh = select(f.dim).where(f.visitor_key == "")
        return set((await session.scalars(union_all(stored, fresh))).all())


async def utm_sources(
    session: AsyncSession, window: Window, cov: rq.Coverage, low: datetime
) -> tuple[Sequence[Any], Sequence[Any], Sequence[Any]]:
    """rolled.utm_sources' three queries' rows."""
    pairs = _Pairs(session, window, cov, low, "utm")
    # Who chatted: by their visitor's reach row or a live message. Counted in
    # the same pass as the pairs (one scan of ~330,000 rows for 30 days, not
    # two).
    lv = reach.live(_dialect(session), "visitor", window.start, window.end, cov, "utm_chat").c
    live_chat = select(lv.visitor_id).where(rq.has(lv.flags, rq.MESSAGE))

    def tally(key: Any, message_hour: Any) -> Any:
        chatter = (key != "") & ((message_hour >= low) | key.in_(live_chat))
        return func.sum(case((chatter, 1), else_=0))

    v = A.__table__.alias("v")
    f = pairs.fresh.c
    visitors: dict[str, int] = {}
    chatted: dict[str, int] = {}
    for query in (
        # (a utm row carries its visitor's last message hour: reach_queries)
        select(A.dim, func.count(), tally(A.visitor_key, A.message_hour))
        .where(pairs.stored())
        .group_by(A.dim),
        select(f.dim, func.count(), tally(f.visitor_key, v.c.message_hour))
        .outerjoin(v, and_(v.c.kind == "visitor", v.c.dim == "", v.c.visitor_key == f.visitor_key))
        .group_by(f.dim),
    ):
        for dim, n, chatters in (await session.execute(query)).all():
            visitors[dim] = visitors.get(dim, 0) + int(n)
            chatted[dim] = chatted.get(dim, 0) + int(chatters or 0)
    # The range's conversions (few) by the sources their visitor arrived from.
    sold: dict[str, list[float]] = {}
    for dim, join in (
        (A.dim, and_(A.visitor_key == E.visitor_id, pairs.stored())),
        (f.dim, f.visitor_key == E.visitor_id),
    ):
        found = await session.execute(
            select(dim, func.count(), func.sum(rq.revenue(True)), func.sum(rq.revenue(False)))
            .select_from(E)
            .join(A if dim is A.dim else pairs.fresh, join)
            .where(window.events("conversion"))
            .group_by(dim)
        )
        for name, n, value, unverified in found.all():
            total = sold.setdefault(name, [0, 0.0, 0.0])
            total[0] += int(n)
            total[1] += float(value or 0)
            total[2] += float(unverified or 0)
    sales = [(name, *total) for name, total in sold.items()]
    return list(visitors.items()), list(chatted.items()), sales


async def page_visitors(
    session: AsyncSession,
    window: Window,
    cov: rq.Coverage,
    low: datetime,
    paths: list[str | None],
) -> dict[str | None, int]:
    """Distinct visitors (not counting events without one) per path."""
    pairs = _Pairs(session, window, cov, low, "page")
    found = await pairs.counts(session, ["" if p is None else p for p in paths])
    for dim in await pairs.anonymous(session):
        if dim in found:
            found[dim] -= 1
    return {(None if dim == "" else dim): n for dim, n in found.items()}
