"""Streaming export of the interaction event log (``python -m chat_server export-events``).

Rows are read with a server-side cursor in batches (``yield_per``) and written
as they come, so memory stays flat for millions of rows.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db.models import InteractionEvent

FORMATS = ("jsonl", "csv")
COLUMNS = ("id", "type", "visitor_id", "conversation_id", "created_at", "data")
BATCH = 2000


def _conditions(since: datetime, until: datetime | None, types: list[str]) -> list[Any]:
    conditions: list[Any] = [InteractionEvent.created_at >= since]
    if until is not None:
        conditions.append(InteractionEvent.created_at < until)
    if types:
        conditions.append(InteractionEvent.type.in_(types))
    return conditions


async def count_events(
    sessions: async_sessionmaker[AsyncSession],
    since: datetime,
    until: datetime | None = None,
    types: list[str] | None = None,
) -> int:
    """How many events an export with these bounds writes (for the progress bar)."""
    async with sessions() as session:
        query = select(func.count()).where(*_conditions(since, until, types or []))
        return int(await session.scalar(query) or 0)


async def events(
    sessions: async_sessionmaker[AsyncSession],
    since: datetime,
    until: datetime | None = None,
    types: list[str] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Events from ``since`` (to ``until``, of ``types``) in id order, one dict each."""
    query = (
        select(InteractionEvent)
        .where(*_conditions(since, until, types or []))
        .order_by(InteractionEvent.id)
        .execution_options(yield_per=BATCH)
    )
    async with sessions() as session:
        result = await session.stream_scalars(query)
        async for event in result:
            yield {
                "id": event.id,
                "type": event.type,
                "visitor_id": event.visitor_id,
                "conversation_id": event.conversation_id,
                "created_at": event.created_at.isoformat(),
                "data": event.data,
            }
            # Rows already written are not kept by the session.
            session.expunge(event)


async def write(
    rows: AsyncIterator[dict[str, Any]],
    out: TextIO,
    format_: str,
    progress: Callable[[int], None] = lambda _: None,
) -> int:
    """Write ``rows`` to ``out`` as JSON lines or CSV (``data`` as JSON); returns the count."""
    writer = csv.DictWriter(out, COLUMNS) if format_ == "csv" else None
    if writer is not None:
        writer.writeheader()
    written = 0
    async for row in rows:
        if writer is not None:
            writer.writerow({**row, "data": json.dumps(row["data"], separators=(",", ":"))})
        else:
            out.write(json.dumps(row, separators=(",", ":")) + "\n")
        written += 1
        if written % BATCH == 0:
            progress(BATCH)
    progress(written % BATCH)
    return written
