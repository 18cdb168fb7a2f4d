"""Group commit: the writes of many concurrent callers in one transaction.

A caller hands over a unit of work (a coroutine function taking the session)
and waits. While one batch commits, the next callers queue; the next batch
runs all of them, one after the other, in one transaction with one commit.
At low load a batch is one caller and nothing waits; under load the commit
(an fsync on PostgreSQL, the write lock on SQLite) is shared by the batch.

Guarantees, the same as a transaction of one's own:
- ``run`` returns only after the commit: persist before relay still holds.
- A unit that raises is not committed, and neither is anything else of its
  batch at first: the batch is rolled back, then every unit of it runs again
  in a transaction of its own, so one bad unit (or a deadlock between nodes)
  fails only itself. A unit must therefore read what it needs through the
  session and may run twice: it must not change anything outside it.
- Units of one batch run in the order they were handed over.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

T = TypeVar("T")

Work = Callable[[AsyncSession], Awaitable[Any]]

# The most units in one transaction: bounds a batch's lock time and its undo work.
MAX_BATCH = 256


class GroupCommit:
    """Runs units of work in shared transactions, one batch at a time."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], max_batch: int = MAX_BATCH
    ) -> None:
        self._sessions = sessionmaker
        self._max_batch = max_batch
        self._pending: deque[tuple[Work, asyncio.Future[Any]]] = deque()
        self._drainer: asyncio.Task[None] | None = None
        # Figures for the benchmark and /metrics: batches committed, units in them.
        self.batches = 0
        self.units = 0

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``work`` in a committed transaction (shared with others); its result."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((work, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name="group-commit")
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch: list[tuple[Work, asyncio.Future[Any]]] = []
            while self._pending and len(batch) < self._max_batch:
                work, future = self._pending.popleft()
                if not future.done():  # a caller that gave up (cancelled) is skipped
                    batch.append((work, future))
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[tuple[Work, asyncio.Future[Any]]]) -> None:
        results: list[Any] = []
        try:
            async with self._sessions.begin() as session:
                for work, _ in batch:
                    results.append(await work(session))
        except Exception as exc:  # each unit gets its own outcome below
            if len(batch) == 1:
                _settle(batch[0][1], error=exc)
                return
            log.info("group commit of %d units failed (%s): running each alone", len(batch), exc)
            for work, future in batch:
                await self._alone(work, future)
            return
        except BaseException as exc:  # cancelled while committing: callers must not hang
            for _, future in batch:
                _settle(future, error=exc)
            raise
        self.batches += 1
        self.units += len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)

    async def _alone(self, work: Work, future: asyncio.Future[Any]) -> None:
        if future.done():
            return
        try:
            async with self._sessions.begin() as session:
                result = await work(session)
        except Exception as exc:  # handed to the caller
            _settle(future, error=exc)
            return
        self.batches += 1
        self.units += 1
        _settle(future, result=result)


def _settle(
    future: asyncio.Future[Any], result: Any = None, error: BaseException | None = None
) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(result)
    elif isinstance(error, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(error)
