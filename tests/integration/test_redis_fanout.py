"""A burst of emits between nodes, against a real redis-server: none is lost.

10,000 visitors reconnecting to a node after a rolling restart make a burst of
publishes (one per room a socket leaves or an emit crosses nodes). redis-py's
default pool raises past 100 connections in use, and python-socketio then
rebuilds its client, tries once more and gives up: the emit never reaches the
other nodes (bench/failover.py found it). RedisFanout's pool waits instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import asyncio as aioredis

from chat_server.transport.cluster import CHANNEL, REDIS_POOL_SIZE, RedisFanout
from tests.integration.conftest import base, start_server
from tests.support.redis_server import RedisServer
from tests.support.visitor import Visitor

BURST = 400


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path) as server:
        yield server


async def test_a_burst_of_publishes_all_reach_the_channel(redis_server: RedisServer) -> None:
    listener = aioredis.Redis.from_url(redis_server.url(0))
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(CHANNEL)
    fanout = RedisFanout(redis_server.url(0))
    connections_before = (await listener.info("stats"))["total_connections_received"]
    try:
        results = await asyncio.gather(
            *(fanout._publish({"method": "emit", "n": n}) for n in range(BURST))
        )
        # PUBLISH answers how many subscribers got it: the listener, every time.
        assert results == [1] * BURST
        received: set[int] = set()
        async with asyncio.timeout(10):
            while len(received) < BURST:
                message = await pubsub.get_message(timeout=1)
                if message is not None:
                    received.add(json.loads(message["data"])["n"])
        assert received == set(range(BURST))
        # ...through one bounded pool: the burst waited for free connections
        # instead of failing, rebuilding the client and opening hundreds more.
        opened = (await listener.info("stats"))["total_connections_received"] - connections_before
        assert opened <= REDIS_POOL_SIZE, opened
    finally:
        await fanout.redis.connection_pool.disconnect()
        await fanout.redis.aclose()
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        await listener.aclose()


async def test_a_visitor_leaving_publishes_no_room_leave(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """A disconnecting socket leaves its rooms on its own node: no `leave_room`
    for every other node to handle (two per visitor, thousands after a restart)."""
    listener = aioredis.Redis.from_url(redis_server.url(0))
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(CHANNEL)
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    node = await start_server(url, redis_url=redis_server.url(0))
    visitor = Visitor(rapport=True)
    try:
        await visitor.connect(base(node))
        await visitor.sio.disconnect()
        methods: list[str] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.5):
                while True:
                    message = await pubsub.get_message(timeout=0.5)
                    if message is not None:
                        methods.append(json.loads(message["data"]).get("method"))
        assert "leave_room" not in methods, methods
    finally:
        await node.close()
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        await listener.aclose()
