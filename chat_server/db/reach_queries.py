"""Reach and daily visitors: two small tables derived from the stored hourly
rollups (models.AnalyticsReach, AnalyticsDaily; docs/analytics.md,
"Rollups"), kept in step with them in the transaction that stores an hour.

Why: distinct counts are not additive, so over the rollups "visitors in the
last 30 days" is still a DISTINCT over every (hour, visitor) row of the
range. But a visitor did X somewhere in the stored hours ``[low, sealed)``
exactly when the *last* stored hour in which they did X is ``>= low``; for a
range that runs to the end of the stored hours (every "last N days" view)
that is one index range over one row per visitor. Distinct visitors per UTC
day are stored per day for the time series.

Maintenance (:func:`after_store`): hours stored for the first time only move
"last" forward (an upsert keeping the later hour); hours stored again (late
events, an erasure, retention) recompute the rows of every visitor they
held, before and after, from all of that visitor's stored rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Subquery,
    and_,
    case,
    delete,
    distinct,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db import conversation_flags, reach_hours
from chat_server.db import rollup_queries as rq
from chat_server.db.models import AnalyticsDaily as D
from chat_server.db.models import AnalyticsReach as A
from chat_server.db.models import AnalyticsRollup as R

DAY = timedelta(days=1)
# The rollup kinds a reach row is derived from, and the reach kind of each.
FROM_KIND = {"visitor": "visitor", "utm": "utm", "page_view": "page"}
# visitor rows: the hour columns and the flags that set them.
BITS = {
    "seen_hour": rq.PAGE_VIEW | rq.MESSAGE,
    "message_hour": rq.MESSAGE,
    "widget_hour": rq.WIDGET_OPENED,
    "click_hour": rq.CARD_CLICKED,
    "conversion_hour": rq.CONVERSION,
}
_CHUNK = 500
_EMPTY: ColumnElement[str] = literal_column("''")


def key(visitor_id: Any) -> ColumnElement[str]:
    """A rollup row's visitor as a reach key ('' for none)."""
    # Inline (not a bound parameter): GROUP BY must repeat it verbatim.
    result: ColumnElement[str] = func.coalesce(visitor_id, _EMPTY)
    return result


def floor_day(moment: datetime) -> datetime:
    return rq.floor_hour(moment).replace(hour=0)


def ceil_day(moment: datetime) -> datetime:
    floor = floor_day(moment)
    return floor if floor == moment else floor + DAY


def day_of(dialect: str, hour: Any) -> ColumnElement[Any]:
    """The UTC day of a stored hour (PostgreSQL sessions run in UTC: engine.py)."""
    if dialect == "postgresql":
        result: ColumnElement[Any] = func.date_trunc("day", hour)
        return result
    return func.strftime("%Y-%m-%d 00:00:00.000000", hour)


# -- maintenance -------------------------------------------------------------


async def store_hours(
    session: AsyncSession, start: datetime, end: datetime, large: bool = False
) -> None:
    """(Re)compute the stored rollup rows of every hour in ``[start, end)``
    from the log, and the reach and daily rows with them. ``large``: a step
    of a first build (the planner statistics are refreshed on the way)."""
    before = await keys_in(session, start, end)
    talks = await conversation_flags.ids_in(session, conversation_flags.hours(start, end))
    await rq.store_rows(session, start, end)
    if large:
        await analyze(session)
    await after_store(session, start, end, before, large)
    if talks:
        after = await conversation_flags.ids_in(session, conversation_flags.hours(start, end))
        await conversation_flags.recompute(session, talks | after)
    else:
        await conversation_flags.advance(session, start, end)


async def analyze(session: AsyncSession) -> None:
    """Fresh planner statistics for the rollups and the derived tables
    (PostgreSQL; ANALYZE counts this transaction's own new rows): in a first
    build's multi-day step, so its statements are planned for the rows it
    has just written, not for the empty tables the last statistics saw."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text(
                "ANALYZE analytics_rollups, analytics_reach, analytics_reach_hours,"
                " analytics_daily, analytics_conversation_flags"
            )
        )


async def recompute_hours(session: AsyncSession, hours: Iterable[datetime]) -> None:
    """Recompute these stored hours from the log (an erasure's, after its deletes,
    in its transaction: the rollups drop the visitor in the same commit)."""
    for low, high in rq.spans(hours):
        await store_hours(session, low, high)


async def keys_in(session: AsyncSession, start: datetime, end: datetime) -> set[str]:
    """The visitors with stored rows the reach derives from in ``[start, end)``."""
    found = await session.scalars(
        select(key(R.visitor_id))
        .where(R.kind.in_(FROM_KIND), R.hour >= start, R.hour < end)
        .distinct()
    )
    return set(found)


async def after_store(
    session: AsyncSession, start: datetime, end: datetime, before: set[str], large: bool = False
) -> None:
    """The rollup rows of ``[start, end)`` were (re)stored; ``before``: the
    keys_in() of those hours before that."""
    if before:
        await _recompute(session, before | await keys_in(session, start, end))
    else:
        await _advance(session, start, end, large)
    await _recount_days(session, floor_day(start), ceil_day(end))


def _later(old: Any, new: Any) -> ColumnElement[Any]:
    result: ColumnElement[Any] = case(
        (old.is_(None), new), (new.is_(None), old), (new > old, new), else_=old
    )
    return result


def _derived(kind: str, where: ColumnElement[bool]) -> Select[Any]:
    """The reach rows of the rollup rows of ``kind`` matching ``where``."""
    columns: list[Any] = [literal(FROM_KIND[kind], String(10))]
    if kind == "visitor":
        hours = [func.max(case((rq.has(R.flags, bit), R.hour))) for bit in BITS.values()]
        columns += [literal(""), key(R.visitor_id), *hours]
        groups: list[Any] = [key(R.visitor_id)]
    else:
        dim = func.coalesce(R.dim1, _EMPTY)
        columns += [dim, key(R.visitor_id), func.max(R.hour), *([null()] * 4)]
        groups = [dim, key(R.visitor_id)]
    query: Select[Any] = select(*columns).where(R.kind == kind, where).group_by(*groups)
    return query


COLUMNS = ["kind", "dim", "visitor_key", *BITS]


async def _advance(
    session: AsyncSession, start: datetime, end: datetime, large: bool = False
) -> None:
    """Hours stored for the first time: keep the later of the two hours."""
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # The visitors these hours move: out of the per-hour counts, and back in after.
    moved = A.visitor_key.in_(
        select(key(R.visitor_id)).where(R.kind == "visitor", R.hour >= start, R.hour < end)
    )
    await reach_hours.shift(session, moved, -1)
    for kind in FROM_KIND:
        statement = upsert(A).from_select(
            COLUMNS, _derived(kind, and_(R.hour >= start, R.hour < end))
        )
        hours = BITS if kind == "visitor" else ["seen_hour"]
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["kind", "dim", "visitor_key"],
                set_={h: _later(getattr(A, h), getattr(statement.excluded, h)) for h in hours},
            )
        )
    if large:
        # Before the counts below: planned for an empty reach table, their
        # key lookups took ~6 minutes a statement on the 5 M-event bench.
        await analyze(session)
    await reach_hours.shift(session, moved, 1)
    await _share_messages(session, await keys_in(session, start, end))


async def _share_messages(session: AsyncSession, keys: Iterable[str]) -> None:
    """A ``utm`` row carries its visitor's last message hour (the UTM table's
    "chatted", without a join): copied from the visitor row. By key, in
    chunks: a plan the database cannot get wrong on a table without
    statistics yet (the first build)."""
    v = A.__table__.alias("v")
    theirs = (
        select(v.c.message_hour)
        .where(v.c.kind == "visitor", v.c.dim == "", v.c.visitor_key == A.visitor_key)
        .scalar_subquery()
    )
    ordered = sorted(keys)
    for i in range(0, len(ordered), _CHUNK):
        chunk = ordered[i : i + _CHUNK]
        await session.execute(
            update(A).where(A.kind == "utm", A.visitor_key.in_(chunk)).values(message_hour=theirs)
        )


async def _recompute(session: AsyncSession, keys: Iterable[str]) -> None:
    """The rows of these visitors, again from all their stored rollup rows."""
    ordered = sorted(keys)
    for i in range(0, len(ordered), _CHUNK):
        chunk = ordered[i : i + _CHUNK]
        await reach_hours.shift(session, A.visitor_key.in_(chunk), -1)
        await session.execute(delete(A).where(A.visitor_key.in_(chunk)))
        real = [k for k in chunk if k]
        whose: ColumnElement[bool] = R.visitor_id.in_(real)
        if "" in chunk:
            whose = or_(whose, R.visitor_id.is_(None))
        for kind in FROM_KIND:
            await session.execute(insert(A).from_select(COLUMNS, _derived(kind, whose)))
        await reach_hours.shift(session, A.visitor_key.in_(chunk), 1)
        await _share_messages(session, chunk)


async def _recount_days(session: AsyncSession, first: datetime, end: datetime) -> None:
    """Distinct visitors of every UTC day in ``[first, end)``, from its stored hours."""
    dialect = session.get_bind().dialect.name
    await session.execute(delete(D).where(D.day >= first, D.day < end))
    day = day_of(dialect, R.hour)
    counted = (
        select(day, func.count(distinct(R.visitor_id)))
        .where(
            R.kind == "visitor",
            R.hour >= first,
            R.hour < end,
            rq.has(R.flags, rq.PAGE_VIEW | rq.MESSAGE),
            R.visitor_id.is_not(None),
        )
        .group_by(day)
    )
    await session.execute(insert(D).from_select(["day", "visitors"], counted))


async def drop_before(session: AsyncSession, moment: datetime) -> None:
    """Drop the stored hours before ``moment`` (retention) and what is derived
    from them: an hour before it is no longer anyone's last (every stored
    hour of that kind was before it); conversations seen then are recomputed."""
    before = conversation_flags.hours(datetime(1970, 1, 1, tzinfo=UTC), moment)
    talks = await conversation_flags.ids_in(session, before)
    await rq.drop_before(session, moment)
    await conversation_flags.recompute(session, talks)
    gone = {h: case((getattr(A, h) < moment, None), else_=getattr(A, h)) for h in BITS}
    await session.execute(
        update(A).where(or_(*(getattr(A, h) < moment for h in BITS))).values(gone)
    )
    await session.execute(delete(A).where(*(getattr(A, h).is_(None) for h in BITS)))
    await reach_hours.rebuild(session)
    await session.execute(delete(D).where(D.day < ceil_day(moment)))
    if floor_day(moment) < moment:
        await _recount_days(session, floor_day(moment), ceil_day(moment))


# -- reading -------------------------------------------------------------------


def low_of(start: datetime, end: datetime, cov: rq.Coverage) -> datetime | None:
    """The first stored hour ``[start, end)`` is answered from through the
    reach, when the range runs to the end of the stored hours (``[low,
    sealed)`` stored, the rest read live from the log), else None."""
    sealed = cov.sealed_through
    if sealed is None:
        return None
    low = rq.ceil_hour(start)
    if low >= sealed or rq.floor_hour(end) < sealed:
        return None
    return low


def live(
    dialect: str, kind: str, start: datetime, end: datetime, cov: rq.Coverage, name: str
) -> Subquery:
    """The rollup rows of ``kind`` computed from the log for the parts of
    ``[start, end)`` the reach does not hold (a range low_of() answers):
    before its first whole hour, and from the end of the stored hours."""
    return rq.rows(dialect, kind, start, end, cov, name, live_only=True)


def since(column: Any, low: datetime) -> ColumnElement[int]:
    result: ColumnElement[int] = case((column >= low, 1), else_=0)
    return result


def flags(low: datetime) -> ColumnElement[int]:
    """A visitor reach row's flags for the stored part of the range."""
    return (
        since(A.seen_hour, low) * rq.PAGE_VIEW
        + since(A.message_hour, low) * rq.MESSAGE
        + since(A.widget_hour, low) * rq.WIDGET_OPENED
        + since(A.click_hour, low) * rq.CARD_CLICKED
        + since(A.conversion_hour, low) * rq.CONVERSION
    )
