"""Fair scheduling of bot turns: a bounded pool of Rasa requests, shared by address.

One Rasa process answers about twenty messages a second, whoever sends them.
Without a bound, every turn goes to Rasa at once and Rasa serves them in
arrival order: a sender with a backlog of a hundred turns makes everyone else
wait behind all of them. Here at most ``max_concurrency`` turns are at Rasa at
once; the others wait, and each free slot goes to

1. the **address** (client IP, as the transport sees it) served least
   recently among those waiting, then
2. within it, the **visitor** served least recently.

For senders that are always waiting this is plain round robin (addresses take
turns, and within an address its visitors take turns); a visitor who writes
now and then is served at the next free slot, ahead of every address that has
had a turn since — the "new flows first" rule of fq_codel and start-time fair
queuing. One visitor's messages keep their order (FIFO per visitor; the
conversation service also serialises them with a per-visitor lock).

An address may have at most ``max_waiting_per_address`` turns waiting: the
next one is refused with ``TurnsBusy`` at once (a flood costs a bounded amount
of memory and is told to retry later). A waiter cancelled (its client gone)
leaves the queue; a slot granted to a task cancelled before it ran is passed on.

``max_concurrency <= 0`` turns the pool off: every turn goes to Rasa at once
(the behaviour before fair scheduling; a baseline for bench/flood_fairness.py).

Pure asyncio, no I/O: tests/unit/test_fair_queue.py.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from chat_server import errors

# How many addresses and visitors the scheduler remembers the last turn of,
# so that a sender whose queue empties for a moment does not come back as new.
REMEMBERED = 10_000


class TurnsBusy(errors.RateLimited):
    """Too many turns of one address are already waiting for Rasa."""

    def __init__(self, address: str, retry_after: int) -> None:
        super().__init__(f"too many bot turns waiting for address {address}", retry_after)
        self.address = address


@dataclass
class _Waiter:
    future: asyncio.Future[None]
    address: str
    visitor: str


@dataclass
class _Address:
    """The turns of one address waiting for a slot, by visitor (FIFO each)."""

    visitors: dict[str, deque[_Waiter]] = field(default_factory=dict)
    count: int = 0


class FairScheduler:
    """``async with scheduler.slot(address, visitor_id): <ask Rasa>``."""

    def __init__(
        self,
        max_concurrency: int,
        max_waiting_per_address: int = 50,
        *,
        retry_after: int = 3,
        observe_wait: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        remembered: int = REMEMBERED,
    ) -> None:
        if max_waiting_per_address < 1:
            raise ValueError("max_waiting_per_address must be at least 1")
        self.max_concurrency = max_concurrency
        self.max_waiting_per_address = max_waiting_per_address
        self._retry_after = retry_after
        self._observe = observe_wait
        self._clock = clock
        self._remembered = remembered
        self._active = 0
        self._waiting: dict[str, _Address] = {}
        self._count = 0
        # When each address / (address, visitor) last got a slot (a turn counter).
        self._last: OrderedDict[str | tuple[str, str], int] = OrderedDict()
        self._tick = 0

    @property
    def bounded(self) -> bool:
        return self.max_concurrency > 0

    @property
    def active(self) -> int:
        """Turns holding a slot (at Rasa) now."""
        return self._active

    @property
    def waiting(self) -> int:
        """Turns waiting for a slot now."""
        return self._count

    def waiting_for(self, address: str) -> int:
        queue = self._waiting.get(address)
        return queue.count if queue else 0

    @asynccontextmanager
    async def slot(self, address: str, visitor_id: str) -> AsyncIterator[None]:
        """Hold one of the slots for a turn of ``visitor_id`` from ``address``.

        Raises TurnsBusy at once when the address already has its maximum of
        turns waiting.
        """
        await self._acquire(address, visitor_id)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, address: str, visitor: str) -> None:
        if not self.bounded or (self._active < self.max_concurrency and not self._waiting):
            self._grant(address, visitor)
            self._observed(0.0)
            return
        queue = self._waiting.get(address)
        if queue is not None and queue.count >= self.max_waiting_per_address:
            raise TurnsBusy(address, self._retry_after)
        started = self._clock()
        waiter = _Waiter(asyncio.get_running_loop().create_future(), address, visitor)
        self._enqueue(waiter)
        try:
            await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                # Granted, then cancelled before it could run: pass the slot on.
                self._release()
            else:
                self._remove(waiter)
            raise
        self._observed(self._clock() - started)

    def _observed(self, seconds: float) -> None:
        if self._observe is not None:
            self._observe(seconds)

    def _enqueue(self, waiter: _Waiter) -> None:
        queue = self._waiting.setdefault(waiter.address, _Address())
        queue.visitors.setdefault(waiter.visitor, deque()).append(waiter)
        queue.count += 1
        self._count += 1

    def _remove(self, waiter: _Waiter) -> None:
        queue = self._waiting.get(waiter.address)
        if queue is None:
            return
        turns = queue.visitors.get(waiter.visitor)
        if turns is None or waiter not in turns:
            return
        turns.remove(waiter)
        self._dequeued(queue, waiter)

    def _dequeued(self, queue: _Address, waiter: _Waiter) -> None:
        if not queue.visitors[waiter.visitor]:
            del queue.visitors[waiter.visitor]
        queue.count -= 1
        self._count -= 1
        if queue.count == 0:
            del self._waiting[waiter.address]

    def _release(self) -> None:
        self._active -= 1
        while self.bounded and self._active < self.max_concurrency and self._waiting:
            waiter = self._next()
            if waiter.future.done():
                # Cancelled; its task has not run its clean-up yet.
                continue
            self._grant(waiter.address, waiter.visitor)
            waiter.future.set_result(None)

    def _next(self) -> _Waiter:
        """Take the next waiter: least recently served address, then visitor."""
        # min() keeps the first of equals: addresses never served (or long
        # forgotten) go in the order they started waiting.
        address = min(self._waiting, key=lambda a: self._last.get(a, -1))
        queue = self._waiting[address]
        visitor = min(queue.visitors, key=lambda v: self._last.get((address, v), -1))
        waiter = queue.visitors[visitor].popleft()
        self._dequeued(queue, waiter)
        return waiter

    def _grant(self, address: str, visitor: str) -> None:
        self._active += 1
        self._tick += 1
        for key in (address, (address, visitor)):
            self._last[key] = self._tick
            self._last.move_to_end(key)
        while len(self._last) > self._remembered:
            self._last.popitem(last=False)
