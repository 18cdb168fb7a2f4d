"""Two in-process chat-server nodes sharing a database and a real redis-server:
rate limits count across nodes, and survive Redis going away."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.integration.conftest import ADMIN_TOKEN, base, start_server
from tests.support.agents import PASSWORD, create_agent
from tests.support.redis_server import RedisServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path) as server:
        yield server


@pytest.fixture
async def nodes(tmp_path: Path, redis_server: RedisServer) -> AsyncIterator[list[TestServer]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    options: dict[str, Any] = {"redis_url": redis_server.url(0), "rate_limit_logins": "3/minute"}
    servers = [await start_server(url, **options), await start_server(url, **options)]
    yield servers
    for server in servers:
        await server.close()


async def login(http: aiohttp.ClientSession, node: TestServer, username: str, password: str) -> int:
    async with http.post(
        base(node) + "/api/auth/login", json={"username": username, "password": password}
    ) as resp:
        return resp.status


async def test_login_attempts_count_on_every_node(nodes: list[TestServer]) -> None:
    a, b = nodes
    async with aiohttp.ClientSession() as http:
        agent = await create_agent(http, base(a), ADMIN_TOKEN, name="Kim")
        for node in (a, b, a):  # a guesser spreading over the nodes
            assert await login(http, node, agent["username"], "wrong-password-1") == 401
        assert await login(http, b, agent["username"], PASSWORD) == 429
        assert await login(http, a, agent["username"], PASSWORD) == 429


async def test_without_redis_each_node_still_limits(
    nodes: list[TestServer], redis_server: RedisServer
) -> None:
    a, b = nodes
    async with aiohttp.ClientSession() as http:
        agent = await create_agent(http, base(a), ADMIN_TOKEN, name="Lee")
        redis_server.stop()
        # Logins still work while Redis is away...
        assert await login(http, a, agent["username"], PASSWORD) == 200
        # ...and guessing is still limited, on each node.
        for _ in range(3):
            assert await login(http, b, agent["username"], "wrong-password-2") == 401
        assert await login(http, b, agent["username"], PASSWORD) == 429
