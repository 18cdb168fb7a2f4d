"""Hourly rollups of the interaction event log: the SQL that builds, stores
and reads them (docs/analytics.md, "Rollups").

A rollup row is ``(hour, kind, dims..., figures...)`` computed from the events
of one UTC hour only (:func:`live_rows`). Storing an hour is deleting its rows
and inserting them again from the log (:func:`store_rows`; reach_queries.store_hours), so it is
idempotent and an hour can be recomputed alone. Reading a range
(:func:`rows`) unions the stored rows of complete, stored hours with the same
rows computed live from the raw events of everything else (the partial hours
at the range's edges, and hours not stored yet): the figures computed over
that union are the figures computed over the raw log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    Subquery,
    Text,
    and_,
    case,
    cast,
    delete,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db.models import AnalyticsRollup as R
from chat_server.db.models import AnalyticsRollupState as State
from chat_server.db.models import InteractionEvent as E

HOUR = timedelta(hours=1)

# Bits of the ``visitor`` rows' flags: what the visitor did in the hour.
PAGE_VIEW, MESSAGE, WIDGET_OPENED, CARD_CLICKED, CONVERSION = 1, 2, 4, 8, 16
_VISITOR_BITS = {
    "page_view": PAGE_VIEW,
    "message_received": MESSAGE,
    "widget_opened": WIDGET_OPENED,
    "card_clicked": CARD_CLICKED,
    "conversion": CONVERSION,
}
# Bits of the ``conversation`` rows' flags.
ASKED, BARGED = 1, 2

KINDS = (
    "type",
    "visitor",
    "intent",
    "card_impression",
    "card_clicked",
    "page_view",
    "page_left",
    "page_hits",
    "utm",
    "conversation",
    "seen",
)
COLUMNS = (
    "hour",
    "kind",
    "dim1",
    "dim2",
    "visitor_id",
    "conversation_id",
    "flags",
    "n",
    "v1",
    "v2",
)


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    floor = floor_hour(moment)
    return floor if floor == moment.astimezone(UTC) else floor + HOUR


def _field(name: str) -> ColumnElement[str]:
    value: ColumnElement[str] = E.data[name].as_string()
    return value


def _verified() -> ColumnElement[bool]:
    value: ColumnElement[bool] = func.coalesce(E.data["verified"].as_boolean(), False)
    return value


def revenue(verified: bool) -> ColumnElement[float]:
    """A conversion's value when it is (un)verified, else 0 (figures.py's)."""
    condition = _verified() if verified else ~_verified()
    value: ColumnElement[float] = case((condition, E.data["value"].as_float()), else_=0.0)
    return value


def hour_of(dialect: str, moment: Any) -> ColumnElement[Any]:
    """The UTC hour of a timestamp column, as the rollups store it."""
    if dialect == "postgresql":
        utc = func.timezone("UTC", moment)
        result: ColumnElement[Any] = func.timezone("UTC", func.date_trunc("hour", utc))
        return result
    # The text SQLAlchemy stores SQLite datetimes as (UTC), so stored hours
    # compare with bound datetimes as text.
    return func.strftime("%Y-%m-%d %H:00:00.000000", moment)


def has(flags: Any, bits: int) -> ColumnElement[bool]:
    """A rollup row's ``flags`` hold one of ``bits``."""
    result: ColumnElement[bool] = flags.op("&")(bits) != 0
    return result


def _bit(type_: str, bit: int) -> ColumnElement[int]:
    return func.max(case((E.type == type_, bit), else_=0))


def live_rows(dialect: str, kind: str, when: ColumnElement[bool]) -> Select[Any]:
    """The rows of ``kind`` for the events matching ``when`` (a time
    condition), one group per hour: the columns of COLUMNS in order."""
    query = _live(dialect, kind, when)
    named = [c.label(name) for c, name in zip(query.selected_columns, COLUMNS, strict=True)]
    return query.with_only_columns(*named)


def _live(dialect: str, kind: str, when: ColumnElement[bool]) -> Select[Any]:
    hour = hour_of(dialect, E.created_at).label("hour")
    text_null, int_null = cast(null(), Text), cast(null(), BigInteger)
    float_null = cast(null(), Float)
    k = literal(kind, String(20))
    zero = literal(0, Integer)
    count = func.count()
    if kind == "type":
        return (
            select(
                hour,
                k,
                E.type,
                text_null,
                cast(null(), String(64)),
                int_null,
                zero,
                count,
                func.sum(revenue(True)),
                func.sum(revenue(False)),
            )
            .where(when)
            .group_by(hour, E.type)
        )
    if kind == "visitor":
        bits = [_bit(t, b) for t, b in _VISITOR_BITS.items()]
        conversions = func.count(case((E.type == "conversion", 1)))
        sold = E.type == "conversion"
        return (
            select(
                hour,
                k,
                text_null,
                text_null,
                E.visitor_id,
                int_null,
                bits[0] + bits[1] + bits[2] + bits[3] + bits[4],
                conversions,
                func.sum(case((sold, revenue(True)), else_=0.0)),
                func.sum(case((sold, revenue(False)), else_=0.0)),
            )
            .where(when, E.type.in_(_VISITOR_BITS))
            .group_by(hour, E.visitor_id)
        )
    if kind in ("intent", "card_impression", "card_clicked"):
        first = _field("intent") if kind == "intent" else _field("product_id")
        second = text_null if kind == "intent" else _field("category")
        type_ = "bot_replied" if kind == "intent" else kind
        return (
            select(
                hour,
                k,
                first,
                second,
                cast(null(), String(64)),
                int_null,
                zero,
                count,
                float_null,
                float_null,
            )
            .where(when, E.type == type_)
            .group_by(hour, first, second)
        )
    if kind in ("page_view", "page_hits"):
        # Per visitor (distinct visitors per path) or per path alone (views).
        path = _field("path")
        per_visitor = kind == "page_view"
        visitor = E.visitor_id if per_visitor else cast(null(), String(64))
        groups = [hour, path, E.visitor_id] if per_visitor else [hour, path]
        return (
            select(
                hour,
                k,
                path,
                text_null,
                visitor,
                int_null,
                zero,
                count,
                float_null,
                float_null,
            )
            .where(when, E.type == "page_view")
            .group_by(*groups)
        )
    if kind == "page_left":
        path, seconds = _field("path"), E.data["seconds"].as_float()
        return (
            select(
                hour,
                k,
                path,
                text_null,
                cast(null(), String(64)),
                int_null,
                zero,
                func.count(seconds),
                func.sum(seconds),
                float_null,
            )
            .where(when, E.type == "page_left")
            .group_by(hour, path)
        )
    if kind == "utm":
        source = _field("utm_source")
        return (
            select(
                hour,
                k,
                source,
                text_null,
                E.visitor_id,
                int_null,
                zero,
                count,
                float_null,
                float_null,
            )
            .where(when, E.type == "page_view", source.is_not(None))
            .group_by(hour, source, E.visitor_id)
        )
    if kind == "conversation":
        asked = func.max(case((E.type == "handoff_requested", ASKED), else_=0))
        barge = and_(
            E.type == "handoff_transition",
            _field("from") == "bot",
            _field("to") == "assigned",
        )
        barged = func.max(case((barge, BARGED), else_=0))
        started = func.count(case((E.type == "conversation_started", 1)))
        return (
            select(
                hour,
                k,
                text_null,
                text_null,
                cast(null(), String(64)),
                E.conversation_id,
                asked + barged,
                started,
                float_null,
                float_null,
            )
            .where(
                when,
                or_(E.type.in_(("conversation_started", "handoff_requested")), barge),
            )
            .group_by(hour, E.conversation_id)
        )
    if kind == "seen":
        # The visitor's other events: only for finding the hours to recompute
        # once they are erased (erased_hours), never read by the dashboard.
        return (
            select(
                hour,
                k,
                text_null,
                text_null,
                E.visitor_id,
                int_null,
                zero,
                count,
                float_null,
                float_null,
            )
            .where(when, E.visitor_id.is_not(None), E.type.not_in(_VISITOR_BITS))
            .group_by(hour, E.visitor_id)
        )
    raise ValueError(kind)


def _stored(kind: str, start: datetime, end: datetime) -> Select[Any]:
    return select(*(getattr(R, c) for c in COLUMNS)).where(
        R.kind == kind, R.hour >= start, R.hour < end
    )


@dataclass(frozen=True)
class Coverage:
    """Which hours are stored: every hour before ``sealed_through``, with
    every event up to ``latest`` (models.AnalyticsRollupState)."""

    sealed_through: datetime | None
    watermark: int = 0
    latest: int = 0


def rows(
    dialect: str,
    kind: str,
    start: datetime | None,
    end: datetime | None,
    coverage: Coverage,
    name: str | None = None,
    live_only: bool = False,
) -> Subquery:
    """The rows of ``kind`` for events in ``[start, end)`` (None: unbounded),
    stored ones for stored complete hours, the rest computed live;
    ``live_only``: the live ones alone (reach_queries answers the stored part)."""
    sealed = coverage.sealed_through
    low = ceil_hour(start) if start is not None else None
    high = floor_hour(end) if end is not None else None
    if sealed is not None:
        high = sealed if high is None else min(high, sealed)
    parts: list[Select[Any]] = []
    if sealed is not None and high is not None and (low is None or low < high):
        if not live_only:
            parts.append(_stored(kind, low or datetime(1970, 1, 1, tzinfo=UTC), high))
        before = between(start, low) if start is not None else None
        raw = [before, between(high, end)]
    else:
        raw = [between(start, end)]
    parts += [live_rows(dialect, kind, w) for w in raw if w is not None]
    if not parts:
        parts = [live_rows(dialect, kind, false())]
    return union_all(*parts).subquery(name or kind)


def between(start: datetime | None, end: datetime | None) -> ColumnElement[bool] | None:
    if start is not None and end is not None and start >= end:
        return None
    bounds = [E.created_at >= start] if start is not None else []
    bounds += [E.created_at < end] if end is not None else []
    return and_(*bounds) if bounds else E.id.is_not(None)


# -- maintenance -------------------------------------------------------------


async def coverage(session: AsyncSession, lock: bool = False) -> Coverage:
    """The progress row; ``lock`` holds it (PostgreSQL) until the transaction ends."""
    query = select(State.sealed_through, State.watermark, State.latest_id).where(State.id == 1)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).one_or_none()
    if row is None:
        return Coverage(None)
    sealed = row[0]
    if sealed is not None:
        sealed = _utc(sealed)
    return Coverage(sealed, int(row[1]), int(row[2]))


async def save_coverage(session: AsyncSession, done: Coverage, now: datetime) -> None:
    await session.execute(
        update(State)
        .where(State.id == 1)
        .values(
            sealed_through=done.sealed_through,
            watermark=done.watermark,
            latest_id=done.latest,
            updated_at=now,
        )
    )


async def store_rows(session: AsyncSession, start: datetime, end: datetime) -> None:
    """(Re)compute the stored rows of every hour in ``[start, end)`` from the
    log (reach_queries.store_hours also brings the tables derived from them
    up to date: call that)."""
    dialect = session.get_bind().dialect.name
    await session.execute(delete(R).where(R.kind.in_(KINDS), R.hour >= start, R.hour < end))
    when = and_(E.created_at >= start, E.created_at < end)
    for kind in KINDS:
        await session.execute(insert(R).from_select(list(COLUMNS), live_rows(dialect, kind, when)))


async def erased_hours(session: AsyncSession) -> list[datetime]:
    """The stored hours with rows of visitors who have no event left (erased:
    privacy.py deletes all of a visitor's events)."""
    gone = (
        select(R.visitor_id)
        .where(R.visitor_id.is_not(None))
        .where(~select(E.id).where(E.visitor_id == R.visitor_id).exists())
    )
    found = await session.scalars(select(R.hour).where(R.visitor_id.in_(gone)).distinct())
    return sorted(moment(at) for at in found)


async def visitor_hours(session: AsyncSession, visitor_id: str) -> list[datetime]:
    """The stored hours that hold rows of ``visitor_id``."""
    found = await session.scalars(select(R.hour).where(R.visitor_id == visitor_id).distinct())
    return sorted(moment(at) for at in found)


async def drop_before(session: AsyncSession, moment: datetime) -> None:
    """Forget the stored rows of every hour before ``moment`` (retention)."""
    await session.execute(delete(R).where(R.kind.in_(KINDS), R.hour < moment))


async def last_event_id(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.max(E.id))) or 0)


async def first_event_at(session: AsyncSession) -> datetime | None:
    first = await session.scalar(select(func.min(E.created_at)))
    return None if first is None else _utc(first)


async def late_hours(session: AsyncSession, after_id: int, before: datetime) -> list[datetime]:
    """The hours before ``before`` of events with an id above ``after_id``."""
    hour = hour_of(session.get_bind().dialect.name, E.created_at)
    found = await session.scalars(
        select(hour).where(E.id > after_id, E.created_at < before).distinct()
    )
    return sorted(moment(at) for at in found)


def moment(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite's strftime
        value = datetime.fromisoformat(value)
    return _utc(value)


async def any_late(session: AsyncSession, after_id: int, before: datetime) -> bool:
    found = await session.scalar(
        select(E.id).where(E.id > after_id, E.created_at < before).limit(1)
    )
    return found is not None


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def spans(hours: Iterable[datetime]) -> Sequence[tuple[datetime, datetime]]:
    """Sorted hours as ``[start, end)`` runs of consecutive hours."""
    runs: list[tuple[datetime, datetime]] = []
    for hour in sorted(set(hours)):
        if runs and runs[-1][1] == hour:
            runs[-1] = (runs[-1][0], hour + HOUR)
        else:
            runs.append((hour, hour + HOUR))
    return runs
