"""Keeping the hourly rollups current (docs/analytics.md, "Rollups").

A *fold* stores every hour that ended at least ``GRACE`` ago and is not
stored yet, and recomputes every stored hour that received an event since
the fold before the last one (a late event: its ``created_at`` is in a
stored hour; looking one fold further back catches an insert that took its
id before the last fold and committed after it). Each
hour is recomputed whole from the log, so folding twice changes nothing.
Folds run every ``interval`` seconds (``run``), and before a dashboard
answer if a late event arrived since (``coverage``); hours not stored yet
are read from the log, so answers always equal the raw queries.

Two nodes folding at once: the progress row is locked (``SELECT ... FOR
UPDATE``) for the fold's transaction, so the second waits and then finds
little to do. SQLite has one process; an asyncio lock orders its tasks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import reach_queries as reach
from chat_server.db import rollup_queries as rq
from chat_server.db.availability import report_failure
from chat_server.db.models import utcnow

log = logging.getLogger(__name__)

# An hour is stored once it ended this long ago (its events are committed).
GRACE = timedelta(minutes=5)
# At most this much of the log is stored per transaction (the first fold of
# a large log is several short transactions, not one long one).
SPAN = timedelta(days=3)
# A step longer than this is a first build (or a node back after a long
# stop): the tables' planner statistics are refreshed during it.
CATCHING_UP = timedelta(hours=6)
# How often rows of visitors with no event left are looked for and recomputed
# (a safety net: a "forget me" erasure already recomputes their hours itself).
ERASED_EVERY = timedelta(hours=1)


class Rollups:
    """Folds the event log into the rollups; tells readers what is stored."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], interval: float = 60.0
    ) -> None:
        self._sessions = sessionmaker
        self._interval = interval
        self._lock = asyncio.Lock()

    async def fold(self, now: datetime | None = None, erased: bool = False) -> bool:
        """One fold (see the module docstring); True when more hours remain
        to be stored (a large log takes several). ``erased``: also recompute
        the hours of visitors erased since (their ids leave the rollups)."""
        now = now or utcnow()
        target = rq.floor_hour(now - GRACE)
        async with self._lock, self._sessions.begin() as session:
            done = await rq.coverage(session, lock=True)
            top = await rq.last_event_id(session)
            if done.sealed_through is None:
                first = await rq.first_event_at(session)
                start = rq.floor_hour(first) if first is not None else target
                seen = top  # everything below is read whole now
            else:
                start, seen = done.sealed_through, done.latest
                late = await rq.late_hours(session, done.watermark, start)
                if erased:
                    late += await rq.erased_hours(session)
                for low, high in rq.spans(late):
                    await reach.store_hours(session, low, high)
            end = max(start, min(target, start + SPAN))
            if start < end:
                await reach.store_hours(session, start, end, large=end - start > CATCHING_UP)
            await rq.save_coverage(session, rq.Coverage(end, seen, top), now)
            return end < target

    async def catch_up(self, now: datetime | None = None) -> None:
        """Fold until every ended hour is stored."""
        while await self.fold(now):
            pass

    async def run(self) -> None:
        """Fold every ``interval`` seconds, until cancelled; look for erased
        visitors every ``ERASED_EVERY``."""
        # Not at start-up: the look is a scan of the rollups (seconds on
        # millions of rows); erasures recompute their own hours (privacy.py).
        swept = time.monotonic()
        while True:
            try:
                await self.catch_up()
                if time.monotonic() - swept >= ERASED_EVERY.total_seconds():
                    await self.fold(erased=True)
                    swept = time.monotonic()
            except Exception as error:
                report_failure(error, "analytics rollups", log, "analytics rollup fold failed")
            await asyncio.sleep(self._interval)

    async def coverage(self, session: AsyncSession) -> rq.Coverage:
        """What a dashboard answer may read from the rollups: folds first
        when an event in a stored hour arrived since the fold before the last
        (the same events the next fold would recompute; right after an hour
        is stored this is usually that hour's last events, once)."""
        done = await rq.coverage(session)
        if done.sealed_through is None or not await rq.any_late(
            session, done.watermark, done.sealed_through
        ):
            return done
        await session.rollback()  # the fold's commits become visible
        await self.fold()
        return await rq.coverage(session)

    async def after_purge(self, cutoff: datetime) -> None:
        """Retention deleted the events before ``cutoff``: drop the stored
        hours before it and recompute the hour it falls in."""
        hour = rq.floor_hour(cutoff)
        async with self._lock, self._sessions.begin() as session:
            done = await rq.coverage(session, lock=True)
            await reach.drop_before(session, hour)
            if done.sealed_through is not None and hour < done.sealed_through:
                await reach.store_hours(session, hour, hour + rq.HOUR)
