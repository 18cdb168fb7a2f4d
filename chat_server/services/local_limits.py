"""The `limits` library's in-memory storage, without a thread per key per hit.

``limits.aio.storage.MemoryStorage`` drops expired moving-window entries in a
task started after every hit, and that task bisects each key's entries in a
thread (``asyncio.to_thread``) under the key's lock. With 50 visitors chatting
that is a hundred thread round trips for every message, the largest cost in
the chat server's profile after the database (bench/results/bot_path_flame.svg,
issue 26 §1). A bisection over at most a limit's worth of entries takes
microseconds, so it is done inline here, and at most once a second: expired
entries only take memory (a window is checked against its entries' times,
not their count), so pruning them a second late changes no decision.

The pass has no ``await``: it cannot interleave with ``acquire_entry``, whose
locked section has none either, so the locks are not needed.
"""

from __future__ import annotations

import bisect
import time

from limits.aio.storage import MemoryStorage

PRUNE_EVERY = 1.0  # seconds


class LocalStorage(MemoryStorage):
    """MemoryStorage whose expiry pass runs inline, at most once per PRUNE_EVERY."""

    def __init__(self) -> None:
        super().__init__()
        self._pruned_at = 0.0

    # MemoryStorage calls ``self.__expire_events()``: its mangled name.
    async def _MemoryStorage__expire_events(self) -> None:  # noqa: N802
        now = time.time()
        if now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        self.prune(now)

    def prune(self, now: float) -> None:
        """Drop expired window entries and counters (newest entries come first)."""
        for key in list(self.events):
            entries = self.events[key]
            kept = entries[: bisect.bisect_left(entries, -now, key=lambda e: -e.expiry)]
            if kept:
                self.events[key] = kept
            else:
                self.events.pop(key, None)
                self.locks.pop(key, None)
        for key in [k for k, at in self.expirations.items() if at <= now]:
            self.storage.pop(key, None)
            self.expirations.pop(key, None)
            self.locks.pop(key, None)
