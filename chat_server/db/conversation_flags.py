"""Per conversation, what it ever did according to the stored rollups
(models.AnalyticsConversationFlags): asked for a person, an agent barged in.
Derived from the stored ``conversation`` rollup rows in the transaction that
stores them, like the reach (reach_queries.py): new hours OR their flags in,
re-stored hours recompute the conversations they held; events after the
stored hours are read live by the dashboard.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db import rollup_queries as rq
from chat_server.db.models import AnalyticsConversationFlags as F
from chat_server.db.models import AnalyticsRollup as R

_CHUNK = 500


def _rows(where: ColumnElement[bool]) -> Select[Any]:
    """Per conversation, the flags of its rollup rows matching ``where`` (if any)."""

    def bit_of(bit: int) -> ColumnElement[int]:
        return func.max(case((rq.has(R.flags, bit), bit), else_=0))

    flags = bit_of(rq.ASKED) + bit_of(rq.BARGED)
    columns: list[Any] = [R.conversation_id, flags]
    query: Select[Any] = (
        select(*columns)
        .where(R.kind == "conversation", R.conversation_id.is_not(None), where)
        .group_by(R.conversation_id)
        .having(flags > 0)
    )
    return query


async def ids_in(session: AsyncSession, where: ColumnElement[bool]) -> set[int]:
    """The conversations with stored rows matching ``where``."""
    found = await session.scalars(
        select(R.conversation_id)
        .where(R.kind == "conversation", R.conversation_id.is_not(None), where)
        .distinct()
    )
    return {int(i) for i in found if i is not None}


def hours(start: datetime, end: datetime) -> ColumnElement[bool]:
    result: ColumnElement[bool] = and_(R.hour >= start, R.hour < end)
    return result


async def advance(session: AsyncSession, start: datetime, end: datetime) -> None:
    """Hours stored for the first time: OR their flags in."""
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = upsert(F).from_select(["conversation_id", "flags"], _rows(hours(start, end)))
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["conversation_id"],
            set_={"flags": F.flags.op("|")(statement.excluded.flags)},
        )
    )


async def recompute(session: AsyncSession, ids: Iterable[int]) -> None:
    """These conversations' rows, again from all their stored rollup rows."""
    ordered = sorted(ids)
    for i in range(0, len(ordered), _CHUNK):
        chunk = ordered[i : i + _CHUNK]
        await session.execute(delete(F).where(F.conversation_id.in_(chunk)))
        await session.execute(
            insert(F).from_select(["conversation_id", "flags"], _rows(R.conversation_id.in_(chunk)))
        )
