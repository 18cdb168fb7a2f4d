"""The in-memory rate-limit storage prunes without threads and counts as before
(chat_server/services/local_limits.py)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter

from chat_server.services import local_limits
from chat_server.services.local_limits import LocalStorage


async def test_hits_never_go_to_a_thread_and_windows_still_hold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads = 0

    async def counted(fn: Any, *args: Any, **kw: Any) -> Any:
        nonlocal threads
        threads += 1
        return fn(*args, **kw)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    limiter = MovingWindowRateLimiter(LocalStorage())
    three = parse("3/second")
    for key in ("a", "b"):
        assert [await limiter.hit(three, key) for _ in range(4)] == [True, True, True, False]
        await asyncio.sleep(0.01)  # the expiry task runs
    assert not await limiter.hit(three, "a")
    assert threads == 0


def test_pruning_drops_only_what_expired() -> None:
    storage = LocalStorage()
    now = time.time()

    async def fill() -> None:
        await storage.acquire_entry("old", 5, 1)
        await storage.acquire_entry("mixed", 5, 1)
        await storage.acquire_entry("mixed", 5, 60)
        await storage.incr("counter", 1)

    asyncio.run(fill())
    storage.prune(now + 2)
    assert "old" not in storage.events
    assert len(storage.events["mixed"]) == 1
    assert "counter" not in storage.storage


async def test_pruning_runs_at_most_once_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    storage = LocalStorage()
    runs = 0
    real = storage.prune

    def counted(now: float) -> None:
        nonlocal runs
        runs += 1
        real(now)

    monkeypatch.setattr(storage, "prune", counted)
    for _ in range(50):
        await storage.acquire_entry("k", 100, 10)
        await asyncio.sleep(0)
    assert runs == 1
    monkeypatch.setattr(local_limits, "PRUNE_EVERY", 0.0)
    await storage.acquire_entry("k", 100, 10)
    await asyncio.sleep(0)
    assert runs == 2
