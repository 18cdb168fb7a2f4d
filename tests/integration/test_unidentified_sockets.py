"""Sockets that never ask for a session count against the per-address cap and
are closed after IDENTIFY_TIMEOUT_SECONDS — counted at the Engine.IO
connection, so a client that never joins a namespace escapes neither.

Real in-process server (SQLite) and raw Engine.IO websockets.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.integration.conftest import ADMIN_TOKEN, base, start_server
from tests.support.agents import AgentClient, create_agent
from tests.support.raw_engineio import RawSocket


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"


async def test_engineio_connections_without_a_namespace_count_against_the_cap(
    sqlite_url: str,
) -> None:
    srv = await start_server(sqlite_url, max_connections_per_ip=5)
    try:
        async with aiohttp.ClientSession() as http:
            silent = [await RawSocket.open(http, base(srv)) for _ in range(5)]
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await RawSocket.open(http, base(srv))
            assert refused.value.status == 401
            # One leaves: its place is free again.
            await silent.pop().close()
            await asyncio.sleep(0.3)
            silent.append(await RawSocket.open(http, base(srv)))
            for sock in silent:
                await sock.close()
    finally:
        await srv.close()


async def test_engineio_connections_that_never_identify_are_closed(sqlite_url: str) -> None:
    srv = await start_server(sqlite_url, identify_timeout_seconds=1)
    try:
        async with aiohttp.ClientSession() as http:
            never_joins = await RawSocket.open(http, base(srv))
            joins_only = await RawSocket.open(http, base(srv))
            await joins_only.join()
            identifies = await RawSocket.open(http, base(srv))
            await identifies.join()
            await identifies.emit("session_request", {"session_id": None})
            await identifies.wait_for("session_confirm")
            # Closed by the server (answering pings does not keep them open).
            await asyncio.wait_for(never_joins.closed.wait(), 20)
            await asyncio.wait_for(joins_only.closed.wait(), 20)
            assert (
                "error",
                {"code": "identify_timeout", "message": "No session was requested."},
            ) in joins_only.events
            # The visitor who asked for a session stays, and is still answered.
            assert not identifies.closed.is_set()
            await identifies.emit("visitor_typing", {"typing": True})
            await identifies.emit("user_uttered", {"message": "still here"}, ack=1)
            assert (await identifies.wait_for_ack(1))["ok"] is True
            await identifies.close()
    finally:
        await srv.close()


async def test_closed_unidentified_sockets_free_their_places(sqlite_url: str) -> None:
    srv = await start_server(sqlite_url, identify_timeout_seconds=1, max_connections_per_ip=3)
    try:
        async with aiohttp.ClientSession() as http:
            silent = [await RawSocket.open(http, base(srv)) for _ in range(3)]
            for sock in silent:
                await asyncio.wait_for(sock.closed.wait(), 20)
            await asyncio.sleep(0.3)
            # The cap counts open connections: the closed ones no longer do.
            fresh = await RawSocket.open(http, base(srv))
            await fresh.join()
            await fresh.emit("session_request", {"session_id": None})
            await fresh.wait_for("session_confirm")
            await fresh.close()
    finally:
        await srv.close()


async def test_an_authenticated_agent_socket_is_not_closed(sqlite_url: str) -> None:
    srv = await start_server(sqlite_url, identify_timeout_seconds=1)
    async with aiohttp.ClientSession() as http:
        made = await create_agent(http, base(srv), ADMIN_TOKEN)
    agent = AgentClient(base(srv), made["username"])
    try:
        await agent.login()
        await agent.connect()
        await asyncio.sleep(2.5)  # well past the identify timeout
        assert agent.sio is not None and agent.sio.connected
    finally:
        if agent.sio is not None:
            await agent.sio.disconnect()
        await agent.http.close()
        await srv.close()
