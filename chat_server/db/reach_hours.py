"""Visitors per "last hour": how many known visitors' reach rows
(models.AnalyticsReach, kind ``visitor``) have each hour as the last hour of
a measure (models.AnalyticsReachHours). Kept with the reach rows in the
transaction that changes them (db/reach_queries.py).

Why: "visitors who did X in the stored hours since ``low``" is the number
of reach rows whose last X hour is ``>= low`` (reach_queries.py). Read from
the reach rows that is one pass over a row per visitor (400,000 rows for 30
days on the 5 M-event bench, 85 to 170 ms); read from here it is a sum over
at most one row per hour. A measure of several things done ("chatted and
clicked") is the earliest of their last hours: both are ``>= low`` exactly
when the earlier one is.

Events without a visitor (reach key '') are left out: the dashboard reads
that one row itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, literal, null, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db.models import AnalyticsReach as A
from chat_server.db.models import AnalyticsReachHours as H

# measure: the reach hour columns whose earliest is its last hour.
MEASURES: dict[str, tuple[str, ...]] = {
    "seen": ("seen_hour",),
    "chat": ("message_hour",),
    "widget": ("widget_hour",),
    "widget_chat": ("widget_hour", "message_hour"),
    "chat_click": ("message_hour", "click_hour"),
    "chat_click_buy": ("message_hour", "click_hour", "conversion_hour"),
}


def _earliest(dialect: str, columns: tuple[str, ...]) -> ColumnElement[Any]:
    """The earliest of these hours, NULL when any is NULL (PostgreSQL's
    LEAST skips NULLs; SQLite's multi-argument min does not)."""
    cols: list[ColumnElement[Any]] = [getattr(A, c) for c in columns]
    if len(cols) == 1:
        return cols[0]
    least = func.least(*cols) if dialect == "postgresql" else func.min(*cols)
    result: ColumnElement[Any] = case((or_(*(c.is_(None) for c in cols)), null()), else_=least)
    return result


def _known_visitors() -> ColumnElement[bool]:
    result: ColumnElement[bool] = and_(A.kind == "visitor", A.dim == "", A.visitor_key != "")
    return result


async def shift(session: AsyncSession, whose: ColumnElement[bool], sign: int) -> None:
    """Add (``sign`` 1) or take away (-1) the reach rows matching ``whose``."""
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for measure, columns in MEASURES.items():
        hour = _earliest(dialect, columns)
        counted = (
            select(literal(measure), hour, func.count() * sign)
            .where(_known_visitors(), whose, hour.is_not(None))
            .group_by(hour)
        )
        statement = upsert(H).from_select(["measure", "hour", "visitors"], counted)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["measure", "hour"],
                set_={"visitors": H.visitors + statement.excluded.visitors},
            )
        )
    if sign < 0:
        await session.execute(delete(H).where(H.visitors == 0))


async def rebuild(session: AsyncSession) -> None:
    """Every count again from the reach rows (after retention's sweep)."""
    await session.execute(delete(H))
    await shift(session, literal(True), 1)


async def since(session: AsyncSession, low: datetime) -> dict[str, int]:
    """Known visitors whose last hour of each measure is ``>= low``."""
    found = await session.execute(
        select(H.measure, func.sum(H.visitors)).where(H.hour >= low).group_by(H.measure)
    )
    counts = {measure: 0 for measure in MEASURES}
    counts.update({measure: int(n or 0) for measure, n in found.all()})
    return counts
