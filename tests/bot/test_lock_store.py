"""The lock store that lets several Rasa processes share conversations (real Redis)."""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest
from rasa.core.lock_store import InMemoryLockStore

from storage.lock_store import ResilientRedisLockStore, lock_store_from_url

REDIS = "redis://127.0.0.1:6379/14"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_url_means_in_memory_locks() -> None:
    assert isinstance(lock_store_from_url(None), InMemoryLockStore)
    assert isinstance(lock_store_from_url(""), InMemoryLockStore)


def test_a_redis_url_gives_the_redis_store_with_its_database() -> None:
    store = lock_store_from_url(REDIS)
    assert isinstance(store, ResilientRedisLockStore)
    assert store.red.connection_pool.connection_kwargs["db"] == 14


@pytest.mark.parametrize("url", ["http://redis:6379", "redis://", "postgres://x/1"])
def test_a_wrong_url_is_refused_clearly(url: str) -> None:
    with pytest.raises(ValueError, match="LOCK_STORE_URL"):
        lock_store_from_url(url)


def test_turns_of_one_conversation_run_one_at_a_time_in_order() -> None:
    asyncio.run(_turns_in_order())


async def _turns_in_order() -> None:
    # Two stores = two Rasa processes sharing one Redis.
    stores = [lock_store_from_url(REDIS), lock_store_from_url(REDIS)]
    conversation = f"c-{uuid.uuid4().hex}"
    running: list[int] = []
    order: list[int] = []

    async def turn(i: int) -> None:
        await asyncio.sleep(0.01 * i)  # arrive in order 0, 1, 2, ...
        async with stores[i % 2].lock(conversation):
            running.append(i)
            assert len(running) == 1, "two turns of one conversation at once"
            await asyncio.sleep(0.05)
            order.append(i)
            running.remove(i)

    await asyncio.gather(*(turn(i) for i in range(6)))
    assert order == list(range(6))


def test_without_redis_turns_still_run_with_local_locks() -> None:
    asyncio.run(_turns_without_redis())


async def _turns_without_redis() -> None:
    store = lock_store_from_url(f"redis://127.0.0.1:{closed_port()}/1")
    conversation = f"c-{uuid.uuid4().hex}"
    done = []

    async def turn(i: int) -> None:
        async with store.lock(conversation):
            done.append(i)

    await asyncio.gather(*(turn(i) for i in range(3)))
    assert sorted(done) == [0, 1, 2]
