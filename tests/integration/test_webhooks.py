"""Outbound webhooks against a real local HTTP receiver: signed deliveries from
a visitor turn, retries with growing delays, a slow or dead endpoint never
delaying the chat, deliveries surviving a restart, and hostile configuration.
In-process chat server (Rasa absent: the apology is a bot turn too)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from dev.devstack import free_port
from tests.integration.conftest import ADMIN_TOKEN, base, start_server
from tests.support.agents import AgentClient, create_agent
from tests.support.visitor import Visitor

OPERATOR = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class Receiver:
    """A webhook endpoint: records what it gets; can be slow or failing."""

    def __init__(self) -> None:
        self.received: list[tuple[float, dict[str, str], bytes]] = []
        self.fail = False
        self.delay = 0.0
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()  # ends the slow handlers' wait at teardown

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append((time.monotonic(), dict(request.headers), body))
        if self.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.delay)
        return web.Response(status=500 if self.fail else 204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def topics(self) -> list[str]:
        return [headers["X-Rapport-Event"] for _, headers, _ in self.received]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


@pytest.fixture
async def hooked(database_url: str) -> AsyncIterator[TestServer]:
    srv = await start_server(
        database_url, webhook_allow_private=True, webhook_retry_base_seconds=0.3
    )
    yield srv
    await srv.close()


async def register(srv: TestServer, url: str, topics: list[str]) -> tuple[dict[str, Any], str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{base(srv)}/api/webhooks", json={"url": url, "topics": topics}, headers=OPERATOR
        ) as resp,
    ):
        assert resp.status == 201, await resp.text()
        data = await resp.json()
    return data["webhook"], data["secret"]


async def deliveries(srv: TestServer, webhook_id: int) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{base(srv)}/api/webhooks/{webhook_id}/deliveries", headers=OPERATOR) as resp,
    ):
        assert resp.status == 200
        return list((await resp.json())["deliveries"])


async def until(predicate: Any, what: str, timeout: float = 15) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_a_visitor_turn_is_delivered_signed(hooked: TestServer, receiver: Receiver) -> None:
    webhook, secret = await register(
        hooked, receiver.url, ["conversation.created", "message.created"]
    )
    visitor = Visitor(rapport=True)
    await visitor.connect(base(hooked))
    try:
        await visitor.say("hello hooks")
    finally:
        await visitor.close()
    # conversation.created, the visitor's message, the bot's (apology) turn
    await until(lambda: len(receiver.received) >= 3, "three deliveries")
    assert sorted(receiver.topics()) == [
        "conversation.created",
        "message.created",
        "message.created",
    ]
    for _, headers, body in receiver.received:
        # The receiver's check, by hand: HMAC-SHA256(secret, "<timestamp>.<body>").
        expected = hmac.new(
            secret.encode(), headers["X-Rapport-Timestamp"].encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        assert headers["X-Rapport-Signature"] == f"sha256={expected}"
        assert abs(int(headers["X-Rapport-Timestamp"]) - time.time()) < 60
    bodies = {int(h["X-Rapport-Delivery"]): json.loads(b) for _, h, b in receiver.received}
    assert all(body["id"] == delivery_id for delivery_id, body in bodies.items())
    [said] = [b for b in bodies.values() if b["data"]["event"] == "message_received"]
    assert said["topic"] == "message.created"
    assert said["data"]["text"] == "hello hooks"
    assert said["data"]["direction"] == "visitor"
    assert said["data"]["visitor_id"] == visitor.visitor_id
    log = await deliveries(hooked, webhook["id"])
    assert {d["status"] for d in log} == {"delivered"}
    assert all(d["attempts"] == 1 and d["last_status"] == 204 for d in log)


@pytest.mark.slow
async def test_a_failing_endpoint_is_retried_with_growing_delays(
    hooked: TestServer, receiver: Receiver
) -> None:
    receiver.fail = True
    webhook, _ = await register(hooked, receiver.url, ["conversation.created"])
    visitor = Visitor(rapport=True)
    await visitor.connect(base(hooked))
    try:
        await visitor.say("anyone?")
    finally:
        await visitor.close()
    await until(lambda: len(receiver.received) >= 4, "four attempts", timeout=30)
    times = [t for t, _, _ in receiver.received[:4]]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # base 0.3 s x 3^(n-1), +-20% jitter: ~0.3, ~0.9, ~2.7 s
    assert gaps[0] < gaps[1] < gaps[2], gaps
    assert gaps[2] > 1.5
    [delivery] = await deliveries(hooked, webhook["id"])
    assert delivery["status"] == "pending" and delivery["attempts"] >= 3
    assert delivery["last_status"] == 500 and delivery["last_error"] == "HTTP 500"
    receiver.fail = False
    await until(lambda: len(receiver.received) >= 5, "the retry that works", timeout=30)
    for _ in range(50):
        [delivery] = await deliveries(hooked, webhook["id"])
        if delivery["status"] == "delivered":
            break
        await asyncio.sleep(0.1)
    assert delivery["status"] == "delivered"


async def test_a_slow_or_dead_endpoint_never_delays_the_chat(
    hooked: TestServer, receiver: Receiver
) -> None:
    receiver.delay = 30  # longer than the 5 s request timeout
    await register(hooked, receiver.url, ["message.created", "conversation.created"])
    await register(hooked, f"http://127.0.0.1:{free_port()}/nobody-listens", ["message.created"])
    visitor = Visitor(rapport=True)
    await visitor.connect(base(hooked))
    try:
        started = time.monotonic()
        replies = await visitor.say("quick question", quiet=0.1)
        took = time.monotonic() - started
        await until(lambda: len(receiver.received) >= 1, "the slow endpoint to be called")
        started = time.monotonic()
        await visitor.say("and another", quiet=0.1)
        second = time.monotonic() - started
    finally:
        await visitor.close()
    assert replies
    # The reply came while the endpoint was still sleeping on its first request.
    assert took < 5 and second < 5, (took, second)


async def test_pending_deliveries_survive_a_restart(database_url: str, receiver: Receiver) -> None:
    receiver.fail = True
    srv = await start_server(
        database_url, webhook_allow_private=True, webhook_retry_base_seconds=0.3
    )
    try:
        webhook, _ = await register(srv, receiver.url, ["conversation.created"])
        visitor = Visitor(rapport=True)
        await visitor.connect(base(srv))
        await visitor.say("before the restart")
        await visitor.close()
        await until(lambda: len(receiver.received) >= 1, "a first (failed) attempt")
    finally:
        await srv.close()
    receiver.fail = False
    attempts = len(receiver.received)
    srv = await start_server(
        database_url, webhook_allow_private=True, webhook_retry_base_seconds=0.3
    )
    try:
        await until(lambda: len(receiver.received) > attempts, "the delivery after the restart")
        for _ in range(50):
            [delivery] = await deliveries(srv, webhook["id"])
            if delivery["status"] == "delivered":
                break
            await asyncio.sleep(0.1)
        assert delivery["status"] == "delivered"
    finally:
        await srv.close()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"url": "ftp://example.com/hook", "topics": ["csat"]}, "http"),
        ({"url": "http://127.0.0.1:9/hook", "topics": ["csat"]}, "non-public"),
        ({"url": "http://10.1.2.3/hook", "topics": ["csat"]}, "non-public"),
        ({"url": "http://169.254.169.254/latest/meta-data", "topics": ["csat"]}, "non-public"),
        ({"url": "https://example.com/" + "a" * 2100, "topics": ["csat"]}, "url"),
        ({"url": "https://example.com/hook", "topics": ["everything"]}, "topics"),
        ({"url": "https://example.com/hook", "topics": []}, "topics"),
        ({"url": "https://example.com/hook"}, "topics"),
        ({"url": 7, "topics": ["csat"]}, "url"),
    ],
)
async def test_hostile_webhook_configuration_is_refused(
    server: TestServer, body: dict[str, Any], says: str
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base(server)}/api/webhooks", json=body, headers=OPERATOR) as resp,
    ):
        assert resp.status == 400, await resp.text()
        error = await resp.json()
    assert says in error["message"]


async def test_only_admins_manage_webhooks(server: TestServer) -> None:
    async with aiohttp.ClientSession() as http:
        data = await create_agent(http, base(server), ADMIN_TOKEN, name="Al")
    agent = await AgentClient(base(server), data["username"]).login()
    try:
        status, _ = await agent.call("GET", "/api/webhooks")
        assert status == 403
        status, _ = await agent.call(
            "POST", "/api/webhooks", {"url": "https://example.com/h", "topics": ["csat"]}
        )
        assert status == 403
    finally:
        await agent.close()
