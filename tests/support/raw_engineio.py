"""Raw Engine.IO v4 websocket clients: cheap enough to open hundreds in one test,
and free to misbehave (never join a namespace, never ask for a session)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp


def socket_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"


class RawSocket:
    """One Engine.IO websocket that answers pings and records what it hears."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[tuple[str, Any]] = []
        self.acks: dict[int, Any] = {}
        self.joined = asyncio.Event()
        self.closed = asyncio.Event()
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls, http: aiohttp.ClientSession, base: str, headers: dict[str, str] | None = None
    ) -> RawSocket:
        """Open the websocket (raises WSServerHandshakeError when refused)."""
        ws = await http.ws_connect(socket_url(base), headers=headers, autoping=True)
        return cls(ws)

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                data: str = msg.data
                if data == "2":
                    await self.ws.send_str("3")
                elif data.startswith("40"):
                    self.joined.set()
                elif data.startswith("42"):
                    name, *args = json.loads(data[2:])
                    self.events.append((name, args[0] if args else None))
                elif data.startswith("43"):
                    digits = data[2:].split("[", 1)[0]
                    self.acks[int(digits)] = json.loads(data[2 + len(digits) :])[0]
                async with self._changed:
                    self._changed.notify_all()
        finally:
            self.closed.set()
            async with self._changed:
                self._changed.notify_all()

    async def join(self) -> None:
        """Join the visitor namespace ("/")."""
        await self.ws.send_str("40")
        await asyncio.wait_for(self.joined.wait(), 30)

    async def emit(self, event: str, data: Any, ack: int | None = None) -> None:
        ack_id = "" if ack is None else str(ack)
        await self.ws.send_str(f"42{ack_id}{json.dumps([event, data])}")

    async def wait_for(self, event: str, seconds: float = 30) -> Any:
        """The first ``event`` heard (waiting for it if need be)."""

        async def heard() -> Any:
            async with self._changed:
                while True:
                    for name, data in self.events:
                        if name == event:
                            return data
                    if self.closed.is_set():
                        raise ConnectionError(f"closed before {event!r}; heard {self.events}")
                    await self._changed.wait()

        return await asyncio.wait_for(heard(), seconds)

    async def wait_for_ack(self, ack: int, seconds: float = 30) -> Any:
        async def acked() -> Any:
            async with self._changed:
                while ack not in self.acks:
                    if self.closed.is_set():
                        raise ConnectionError(f"closed before ack {ack}; heard {self.events}")
                    await self._changed.wait()
                return self.acks[ack]

        return await asyncio.wait_for(acked(), seconds)

    async def close(self) -> None:
        await self.ws.close()
        await self._reader
