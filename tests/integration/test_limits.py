"""Rate and connection limits on the open door (in-process server, real SQLite).

Each test starts a server with small limits, so that it fails if the limit is
removed; the live stack used by the other tests raises them (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp.test_utils import TestServer

from tests.integration.conftest import ADMIN_TOKEN, base, start_server
from tests.integration.helpers import stored_messages
from tests.support.agents import PASSWORD, create_agent
from tests.support.visitor import Visitor


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"


async def limited(sqlite_url: str, **limits: Any) -> TestServer:
    return await start_server(sqlite_url, **limits)


async def test_a_flood_of_messages_is_slowed_down_and_others_are_unaffected(
    sqlite_url: str,
) -> None:
    srv = await limited(sqlite_url, rate_limit_messages="3/minute")
    flooder, neighbour = Visitor(), Visitor()
    try:
        await flooder.connect(base(srv))
        await neighbour.connect(base(srv))
        for i in range(10):
            await flooder.sio.emit(
                "user_uttered", {"message": f"spam {i}", "session_id": flooder.session_id}
            )
        error = await flooder.wait_for("error", lambda e: e["code"] == "rate_limited")
        assert error["retry_after"] >= 1 and "wait" in error["message"]
        await asyncio.sleep(2.5)  # the three accepted ones get their (Rasa-down) answers
        assert len(flooder.seen("error")) == 7
        texts = [
            m.text
            for m in await stored_messages(sqlite_url, flooder.visitor_id)
            if m.direction == "visitor"
        ]
        assert texts == ["spam 0", "spam 1", "spam 2"]
        # Another visitor (same address, another connection) still gets through.
        assert await neighbour.say("hello")
    finally:
        await flooder.close()
        await neighbour.close()
        await srv.close()


async def test_messages_per_address_are_limited_across_connections(sqlite_url: str) -> None:
    srv = await limited(sqlite_url, rate_limit_messages_per_ip="4/minute")
    visitors = [Visitor() for _ in range(3)]
    try:
        for v in visitors:
            await v.connect(base(srv))
        for i in range(6):
            v = visitors[i % 3]
            await v.sio.emit("user_uttered", {"message": f"m{i}", "session_id": v.session_id})
        await asyncio.sleep(3)
        refused = sum(
            len([e for e in v.seen("error") if e["code"] == "rate_limited"]) for v in visitors
        )
        assert refused == 2
    finally:
        for v in visitors:
            await v.close()
        await srv.close()


async def connect_raw(url: str) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    try:
        await client.connect(url, transports=["websocket"])
    except socketio.exceptions.ConnectionError:
        # Refused at the Engine.IO handshake: the client leaves its HTTP session open.
        if client.eio.http is not None:
            await client.eio.http.close()
        raise
    return client


async def test_connections_per_address_are_limited(sqlite_url: str) -> None:
    srv = await limited(sqlite_url, rate_limit_connections_per_ip="5/minute")
    clients = []
    try:
        for _ in range(5):
            clients.append(await connect_raw(base(srv)))
        with pytest.raises(socketio.exceptions.ConnectionError):
            clients.append(await connect_raw(base(srv)))
    finally:
        for c in clients:
            await c.disconnect()
        await srv.close()


async def test_open_connections_per_address_are_capped(sqlite_url: str) -> None:
    srv = await limited(sqlite_url, max_connections_per_ip=3)
    clients = [await connect_raw(base(srv)) for _ in range(3)]
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await connect_raw(base(srv))
        await clients.pop().disconnect()
        await asyncio.sleep(0.2)
        clients.append(await connect_raw(base(srv)))  # a slot was freed
    finally:
        for c in clients:
            await c.disconnect()
        await srv.close()


# The new-visitor limit counts stored visitors, not session requests:
# tests/integration/test_lazy_visitors.py::test_the_new_visitor_limit_counts_stored_visitors_only


async def test_card_clicks_are_limited(sqlite_url: str) -> None:
    srv = await limited(sqlite_url, rate_limit_card_clicks="2/minute")
    visitor = Visitor()
    try:
        await visitor.connect(base(srv))
        for _ in range(4):
            await visitor.sio.emit(
                "card_clicked",
                {"session_id": visitor.session_id, "product_id": "swift-trail-runner"},
            )
        await visitor.wait_for("error", lambda e: e["code"] == "rate_limited")
        await asyncio.sleep(0.5)
        assert len([e for e in visitor.seen("error") if e["code"] == "rate_limited"]) == 2
    finally:
        await visitor.close()
        await srv.close()


async def test_sockets_that_never_ask_for_a_session_are_closed(sqlite_url: str) -> None:
    srv = await limited(sqlite_url, identify_timeout_seconds=1)
    silent, talker = Visitor(), Visitor()
    try:
        await silent.sio.connect(base(srv), transports=["websocket"])
        await talker.connect(base(srv))
        await asyncio.sleep(2)
        assert not silent.sio.connected
        assert silent.seen("error")[0]["code"] == "identify_timeout"
        assert talker.sio.connected
    finally:
        await talker.close()
        await srv.close()


async def test_logins_are_throttled(sqlite_url: str) -> None:
    srv = await limited(sqlite_url, rate_limit_logins="3/minute")
    url = base(srv)
    try:
        async with aiohttp.ClientSession() as http:
            agent = await create_agent(http, url, ADMIN_TOKEN, name="Kim")

            async def login(
                password: str, username: str = agent["username"]
            ) -> aiohttp.ClientResponse:
                return await http.post(
                    url + "/api/auth/login", json={"username": username, "password": password}
                )

            for _ in range(3):
                assert (await login("wrong-password-123")).status == 401
            refused = await login(PASSWORD)  # even the right password, for now
            assert refused.status == 429
            assert int(refused.headers["Retry-After"]) >= 1
            assert (await refused.json())["error"] == "rate_limited"
            # Another agent's sign-in from the same address is not locked out.
            other = await create_agent(http, url, ADMIN_TOKEN, name="Lee")
            assert (await login(PASSWORD, other["username"])).status == 200
    finally:
        await srv.close()
