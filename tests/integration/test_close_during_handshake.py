"""A revocation that lands while a socket is still in its connect handler.

python-socketio's ``disconnect`` ignores a socket whose connect handler has
not returned yet, so a console that was connecting while an admin deactivated
the account finished its handshake and stayed "Connected" with a revoked
session (seen once in CI). ``disconnect_local`` must close such a socket as
soon as its handshake completes. Real server and client over loopback.
"""

from __future__ import annotations

import asyncio
from typing import Any

import socketio
from aiohttp import web
from aiohttp.test_utils import TestServer

from chat_server.transport.cluster import disconnect_local

NAMESPACE = "/agent"
ROOM = "account:1"


class SlowConnect(socketio.AsyncNamespace):
    """Joins the account room, then waits (like the real handler's database work)."""

    def __init__(self) -> None:
        super().__init__(NAMESPACE)
        self.in_room = asyncio.Event()
        self.release = asyncio.Event()

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await self.enter_room(sid, ROOM)
        self.in_room.set()
        await self.release.wait()


async def test_a_socket_revoked_mid_handshake_is_closed_once_connected() -> None:
    sio = socketio.AsyncServer(async_mode="aiohttp")
    handler = SlowConnect()
    sio.register_namespace(handler)
    app = web.Application()
    sio.attach(app)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    client = socketio.AsyncClient(reconnection=False)
    closed = asyncio.Event()
    client.on("disconnect", lambda *_: closed.set(), namespace=NAMESPACE)
    try:
        connecting = asyncio.create_task(
            client.connect(
                str(server.make_url("/")),
                namespaces=[NAMESPACE],
                transports=["websocket"],
                wait_timeout=10,
            )
        )
        await asyncio.wait_for(handler.in_room.wait(), 10)
        # The credential is revoked now, while the handler is still running.
        await disconnect_local(sio, NAMESPACE, ROOM)
        handler.release.set()
        await connecting
        await asyncio.wait_for(closed.wait(), 5)
        await asyncio.sleep(0.2)
        assert not list(sio.manager.get_participants(NAMESPACE, ROOM))
    finally:
        await client.disconnect()
        await server.close()
