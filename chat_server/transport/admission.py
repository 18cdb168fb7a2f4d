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
  agent socket by authenticating on ``/agent``;
- is *paced*: the Socket.IO packets of all connections of one key share a
  budget (``SOCKET_PACKETS_PER_SECOND_PER_IP``, with a burst of
  ``SOCKET_PACKET_BURST_PER_IP``). A packet over the budget is not refused but
  waits before it is handled, and while it waits its connection is not read:
  the flooder's own TCP buffers fill and its sends block. One process has one
  event loop, served first come first served; this keeps one address from
  taking all of it (docs/performance.md, "Session flood").
"""

from __future__ import annotations

import asyncio
import time
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


class Pacer:
    """A per-key packet budget (GCRA, the virtual-scheduling form of a token
    bucket): ``rate`` packets a second on average, ``burst`` at once. Pure
    bookkeeping: :meth:`delay` says how long a packet arriving at ``now``
    must wait, and books its slot, so each waiting packet has its own."""

    SWEEP_EVERY = 1024  # packets between sweeps of keys idle long enough

    def __init__(self, rate: float, burst: int) -> None:
        self.interval = 1.0 / rate
        self.tolerance = max(burst - 1, 0) * self.interval
        self._tat: dict[str, float] = {}  # key -> theoretical arrival time
        self._since_sweep = 0

    def delay(self, key: str, now: float) -> float:
        """Seconds the packet of ``key`` arriving at ``now`` waits (0: at once)."""
        tat = max(self._tat.get(key, now), now)
        self._tat[key] = tat + self.interval
        self._since_sweep += 1
        if self._since_sweep >= self.SWEEP_EVERY:
            self._sweep(now)
        return max(0.0, tat - self.tolerance - now)

    def keys(self) -> int:
        return len(self._tat)

    def _sweep(self, now: float) -> None:
        # A key whose budget is whole again holds nothing worth keeping.
        self._since_sweep = 0
        for key in [k for k, tat in self._tat.items() if tat + self.tolerance <= now]:
            del self._tat[key]


class Admission:
    """Admits Engine.IO connections and closes those that never identify."""

    def __init__(
        self,
        limits: Callable[[], RateLimits],
        trusted_proxies: Collection[str],
        max_per_key: int,
        identify_timeout: float,
        pacer: Pacer | None = None,
    ) -> None:
        self._limits = limits
        self._pacer = pacer
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

    async def pace(self, eio_sid: str) -> None:
        """Wait until a packet of this connection fits its key's budget."""
        if self._pacer is None:
            return
        wait = self._pacer.delay(self.key(eio_sid), time.monotonic())
        if wait > 0:
            metrics.PACKETS_PACED.inc()
            await asyncio.sleep(wait)

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
