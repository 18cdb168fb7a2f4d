"""Who may hold an Engine.IO connection, counted where the connection starts.

A Socket.IO client first opens an Engine.IO connection (one socket), then
joins namespaces inside it. Limits enforced at the namespace's ``connect``
miss a client that opens the Engine.IO connection and never joins a
namespace, or joins and never asks for a session: 1,000 such sockets cost
memory and file descriptors for nothing. So every Engine.IO connection

- counts against ``MAX_CONNECTIONS_PER_IP`` open connections and
  ``RATE_LIMIT_CONNECTIONS_PER_IP`` new ones, per `limit_key` (an IPv4
  address or an IPv6 /64), from the moment it opens;
- is closed when it has not identified itself within
  ``IDENTIFY_TIMEOUT_SECONDS``: a visitor socket by asking for a session, an
  agent socket by authenticating on ``/agent``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Coroutine
from typing import Any

from chat_server import metrics
from chat_server.http.addresses import limit_key, socket_address
from chat_server.protocol import visitor as protocol
from chat_server.services import ratelimit
from chat_server.services.ratelimit import RateLimited, RateLimits

Refusal = dict[str, Any]
Closer = Callable[[str], Coroutine[Any, Any, None]]


class OpenCounts:
    """Open connections per key, each bounded by ``limit`` (pure bookkeeping)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def take(self, key: str) -> bool:
        """Count one more connection for ``key``; False (nothing counted) when full."""
        if self._open.get(key, 0) >= self.limit:
            return False
        self._open[key] = self._open.get(key, 0) + 1
        return True

    def release(self, key: str) -> None:
        left = self._open.get(key, 0) - 1
        if left > 0:
            self._open[key] = left
        else:
            self._open.pop(key, None)

    def count(self, key: str) -> int:
        return self._open.get(key, 0)


class Admission:
    """Admits Engine.IO connections and closes those that never identify."""

    def __init__(
        self,
        limits: Callable[[], RateLimits],
        trusted_proxies: Collection[str],
        max_per_key: int,
        identify_timeout: float,
    ) -> None:
        self._limits = limits
        self._trusted = trusted_proxies
        self._identify_timeout = identify_timeout
        self.open = OpenCounts(max_per_key)
        self._key_of: dict[str, str] = {}
        self._unidentified: dict[str, asyncio.TimerHandle] = {}
        self._closing: set[asyncio.Task[None]] = set()
        # Set by the server: closes one Engine.IO connection.
        self.close: Closer | None = None

    async def admit(self, eio_sid: str, environ: dict[str, Any]) -> Refusal | None:
        """Count a new connection; the refusal to answer with, or None when admitted."""
        key = limit_key(socket_address(environ, self._trusted))
        if self.open.count(key) >= self.open.limit:
            metrics.RATE_LIMITED.labels("connections_open_per_ip").inc()
            return {"message": protocol.TOO_MANY_CONNECTIONS}
        try:
            await self._limits().hit(ratelimit.CONNECTIONS_PER_IP, key)
        except RateLimited as exc:
            return {"message": protocol.RATE_LIMITED, "retry_after": exc.retry_after}
        if not self.open.take(key):  # filled up while the rate limit was checked
            return {"message": protocol.TOO_MANY_CONNECTIONS}
        self._key_of[eio_sid] = key
        self._unidentified[eio_sid] = asyncio.get_running_loop().call_later(
            self._identify_timeout, self._expire, eio_sid
        )
        return None

    def key(self, eio_sid: str) -> str:
        """The limit key of an admitted connection."""
        return self._key_of.get(eio_sid, "unknown")

    def identified(self, eio_sid: str) -> None:
        """The connection identified itself: it may stay."""
        timer = self._unidentified.pop(eio_sid, None)
        if timer is not None:
            timer.cancel()

    def released(self, eio_sid: str) -> None:
        """The connection closed."""
        self.identified(eio_sid)
        key = self._key_of.pop(eio_sid, None)
        if key is not None:
            self.open.release(key)

    def unidentified_count(self) -> int:
        return len(self._unidentified)

    def _expire(self, eio_sid: str) -> None:
        if self._unidentified.pop(eio_sid, None) is None or self.close is None:
            return
        metrics.RATE_LIMITED.labels("identify_timeout").inc()
        task = asyncio.get_running_loop().create_task(self.close(eio_sid))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
