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
- Units of one batch run in the order they were handed over; bulk units
  (``run_bulk``: the same kind of write for many callers, such as storing
  visitors' messages) are written first, all of a kind with one call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server import metrics

log = logging.getLogger(__name__)

T = TypeVar("T")

Work = Callable[[AsyncSession], Awaitable[Any]]

# Writes many items of one kind: a result per item, or None where the item's
# own unit of work must run instead (in the same transaction).
Bulk = Callable[[AsyncSession, list[Any]], Awaitable[list[Any]]]


@dataclass
class _Entry:
    work: Work
    future: asyncio.Future[Any]
    bulk: Bulk | None = None
    item: Any = None
    queued_at: float = field(default_factory=time.perf_counter)


# The most units in one transaction: bounds a batch's lock time and its undo work.
MAX_BATCH = 256


class GroupCommit:
    """Runs units of work in shared transactions, one batch at a time."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], max_batch: int = MAX_BATCH
    ) -> None:
        self._sessions = sessionmaker
        self._max_batch = max_batch
        self._pending: deque[_Entry] = deque()
        self._drainer: asyncio.Task[None] | None = None
        # Figures for the benchmark and /metrics: batches committed, units in them.
        self.batches = 0
        self.units = 0

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``work`` in a committed transaction (shared with others); its result."""
        result: T = await self._enqueue(_Entry(work, asyncio.get_running_loop().create_future()))
        return result

    async def run_bulk(
        self, bulk: Bulk, item: Any, work: Callable[[AsyncSession], Awaitable[T]]
    ) -> T:
        """Have ``bulk`` write ``item`` with the other items of its kind in the batch;
        ``work`` when it does not take it (or the batch failed and each unit runs alone)."""
        entry = _Entry(work, asyncio.get_running_loop().create_future(), bulk, item)
        result: T = await self._enqueue(entry)
        return result

    async def _enqueue(self, entry: _Entry) -> Any:
        self._pending.append(entry)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name="group-commit")
        return await entry.future

    async def _drain(self) -> None:
        while self._pending:
            batch: list[_Entry] = []
            while self._pending and len(batch) < self._max_batch:
                entry = self._pending.popleft()
                if not entry.future.done():  # a caller that gave up (cancelled) is skipped
                    batch.append(entry)
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[_Entry]) -> None:
        results: list[Any] = [None] * len(batch)
        try:
            async with self._sessions.begin() as session:
                written = await _write_bulk(session, batch, results)
                for index, entry in enumerate(batch):
                    if index not in written:
                        results[index] = await entry.work(session)
        except Exception as exc:  # each unit gets its own outcome below
            if len(batch) == 1:
                _settle(batch[0].future, error=exc)
                return
            log.info("group commit of %d units failed (%s): running each alone", len(batch), exc)
            for entry in batch:
                await self._alone(entry)
            return
        except BaseException as exc:  # cancelled while committing: callers must not hang
            for entry in batch:
                _settle(entry.future, error=exc)
            raise
        self._committed(batch)
        for entry, result in zip(batch, results, strict=True):
            _settle(entry.future, result=result)

    async def _alone(self, entry: _Entry) -> None:
        if entry.future.done():
            return
        try:
            async with self._sessions.begin() as session:
                result = await entry.work(session)
        except Exception as exc:  # handed to the caller
            _settle(entry.future, error=exc)
            return
        self._committed([entry])
        _settle(entry.future, result=result)

    def _committed(self, entries: list[_Entry]) -> None:
        self.batches += 1
        self.units += len(entries)
        metrics.GROUP_COMMIT_BATCH.observe(len(entries))
        now = time.perf_counter()
        for entry in entries:
            metrics.GROUP_COMMIT_SECONDS.observe(now - entry.queued_at)


async def _write_bulk(session: AsyncSession, batch: list[_Entry], results: list[Any]) -> set[int]:
    """Run each kind of bulk write once for its items; the indexes it wrote."""
    kinds: dict[Bulk, list[int]] = {}
    for index, entry in enumerate(batch):
        if entry.bulk is not None:
            kinds.setdefault(entry.bulk, []).append(index)
    written: set[int] = set()
    for bulk, indexes in kinds.items():
        outcomes = await bulk(session, [batch[i].item for i in indexes])
        for index, outcome in zip(indexes, outcomes, strict=True):
            if outcome is not None:
                results[index] = outcome
                written.add(index)
    return written


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
