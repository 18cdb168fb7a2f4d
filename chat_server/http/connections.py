"""TCP connections before they are HTTP requests: slowloris and descriptor exhaustion.

A slowloris client opens many connections and sends one header byte every few
seconds: aiohttp waits for the whole request head, and each connection holds a
file descriptor until the process has none left and even ``/healthz`` cannot
be accepted. So every connection the server accepts goes through a
:class:`ConnectionGate`:

- A connection whose request head (up to the blank line) is not complete
  within ``HTTP_HEADER_TIMEOUT_SECONDS`` is closed.
- At most ``HTTP_MAX_HANDSHAKING`` connections (and ``HTTP_MAX_HANDSHAKING_PER_IP``
  per address) may be in that state; beyond, the *oldest* of them is closed to
  make room (per address, only one older than a second: a burst of newcomers
  is accepted before any of them could send a byte). A real client's handshake
  takes milliseconds, so the oldest is almost always a slow attacker, and
  newcomers — a visitor, a health check — always get in.
- At most ``HTTP_MAX_CONNECTIONS`` connections are open, kept below the
  descriptor limit (``RLIMIT_NOFILE`` less ``HTTP_FD_RESERVE`` for the
  database, Rasa and logs). When full, a newcomer evicts the oldest
  handshaking connection, or is closed at once if there is none; and
  ``MAX_CONNECTIONS_PER_IP`` bounds one address (trusted proxies excepted).

The body of a request has its own deadline (chat_server/http/slow_bodies.py).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from typing import Any

from aiohttp import web

from chat_server import metrics
from chat_server.http.addresses import is_trusted, limit_key

log = logging.getLogger(__name__)
HEAD_END = b"\r\n\r\n"
# Sockets asyncio accepts per loop turn (also the listen backlog), and how many
# such turns may pass before the gate sees them.
ACCEPT_BACKLOG = 64
ACCEPT_BURSTS = 3
# The per-address handshake cap evicts only connections at least this old.
BURST_GRACE_SECONDS = 1.0


def connection_budget(wanted: int, reserve: int, backlog: int = ACCEPT_BACKLOG) -> int:
    """How many connections this process can hold: ``wanted``, at most the
    descriptor limit less ``reserve`` and room for the sockets accepted but not
    yet seen (asyncio accepts up to ``backlog`` per loop turn; the gate sees
    them a turn or two later). The soft limit is raised as far as needed, up to
    the hard one, first (as Go does at start-up)."""
    in_flight = ACCEPT_BURSTS * backlog
    needed = wanted + reserve + in_flight
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    infinite = resource.RLIM_INFINITY
    if soft != infinite and soft < needed and (hard == infinite or soft < hard):
        raised = needed if hard == infinite else min(hard, needed)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            log.warning("could not raise the open-file limit from %d to %d", soft, raised)
    if soft == infinite:
        return wanted
    budget = min(wanted, soft - reserve - in_flight)
    if budget < wanted:
        log.warning(
            "open-file limit %d: at most %d connections (HTTP_MAX_CONNECTIONS=%d, "
            "HTTP_FD_RESERVE=%d, %d for accepts in flight); raise `ulimit -n` for more",
            soft,
            max(1, budget),
            wanted,
            reserve,
            in_flight,
        )
    return max(1, budget)


class ConnectionGate:
    """Which connections may stay: bookkeeping only (closing is the caller's
    ``close`` callable, so this is testable without sockets)."""

    def __init__(
        self,
        *,
        max_connections: int,
        max_handshaking: int,
        max_handshaking_per_key: int,
        max_per_key: int,
        trusted_proxies: Collection[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self.max_connections = max_connections
        self.max_handshaking = max_handshaking
        self.max_handshaking_per_key = max_handshaking_per_key
        self.max_per_key = max_per_key
        self._trusted = trusted_proxies
        self._open: dict[Any, str] = {}
        self._per_key: dict[str, int] = {}
        self._handshaking_per_key: dict[str, int] = {}
        # Oldest first: eviction closes the one that has been slow the longest.
        self._handshaking: OrderedDict[Any, tuple[float, Callable[[], None]]] = OrderedDict()

    @property
    def open_count(self) -> int:
        return len(self._open)

    @property
    def handshaking_count(self) -> int:
        return len(self._handshaking)

    def opened(self, conn: Any, peer: str, close: Callable[[], None]) -> bool:
        """Admit a new connection (in handshake); False: close it at once."""
        key = limit_key(peer)
        exempt = is_trusted(peer, self._trusted)
        if (
            not exempt
            and self._per_key.get(key, 0) >= self.max_per_key
            and not self._evict(lambda c: self._open.get(c) == key)
        ):
            metrics.RATE_LIMITED.labels("http_connections_per_ip").inc()
            return False
        if self.open_count >= self.max_connections and not self._evict(lambda c: True):
            metrics.RATE_LIMITED.labels("http_connections").inc()
            return False
        if not exempt and self._handshaking_of(key) >= self.max_handshaking_per_key:
            # Only one that has had time to send its head: a burst of newcomers
            # from one office (accepted before any of them could speak) stays.
            self._evict(lambda c: self._open.get(c) == key, min_age=BURST_GRACE_SECONDS)
        if self.handshaking_count >= self.max_handshaking:
            self._evict(lambda c: True)
        self._open[conn] = key
        self._per_key[key] = self._per_key.get(key, 0) + 1
        self._handshaking[conn] = (self._clock(), close)
        self._handshaking_per_key[key] = self._handshaking_of(key) + 1
        return True

    def head_done(self, conn: Any) -> None:
        """The connection sent a complete request head: no longer handshaking."""
        if self._handshaking.pop(conn, None) is not None:
            _decrement(self._handshaking_per_key, self._open.get(conn, ""))

    def closed(self, conn: Any) -> None:
        self.head_done(conn)
        key = self._open.pop(conn, None)
        if key is not None:
            _decrement(self._per_key, key)

    def _handshaking_of(self, key: str) -> int:
        return self._handshaking_per_key.get(key, 0)

    def _evict(self, which: Callable[[Any], bool], min_age: float = 0.0) -> bool:
        """Close the oldest handshaking connection that ``which`` picks (and at
        least ``min_age`` seconds old)."""
        now = self._clock()
        for conn, (since, close) in self._handshaking.items():
            if now - since < min_age:
                return False  # oldest first: the rest are younger still
            if which(conn):
                metrics.RATE_LIMITED.labels("http_handshake_evicted").inc()
                self.closed(conn)
                close()
                return True
        return False


def _decrement(counts: dict[str, int], key: str) -> None:
    left = counts.get(key, 0) - 1
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)


class GuardedProtocol(asyncio.Protocol):
    """Wraps aiohttp's protocol for one connection: admission and the head deadline."""

    def __init__(
        self, inner: asyncio.Protocol, gate: ConnectionGate, header_timeout: float
    ) -> None:
        self._inner = inner
        self._gate = gate
        self._header_timeout = header_timeout
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tail = b""  # the last bytes seen, to find a head end split across reads
        self._refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not isinstance(transport, asyncio.Transport):
            raise TypeError("a stream transport was expected")
        self._transport = transport
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
        if not self._gate.opened(self, address, self._abort):
            self._refused = True
            transport.abort()  # before aiohttp sees it: no request, no log line
            return
        self._timer = asyncio.get_running_loop().call_later(
            self._header_timeout, self._head_timed_out
        )
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._timer is not None:
            seen = self._tail + data
            if HEAD_END in seen:
                self._head_done()
            else:
                self._tail = seen[-(len(HEAD_END) - 1) :]
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        if self._refused:
            return None
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._refused:
            return
        self._gate.closed(self)
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def _head_done(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._tail = b""
        self._gate.head_done(self)

    def _head_timed_out(self) -> None:
        self._timer = None
        metrics.RATE_LIMITED.labels("http_header_timeout").inc()
        self._gate.closed(self)
        self._abort()

    def _abort(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._transport is not None:
            self._transport.abort()


class GuardedSite(web.BaseSite):
    """A TCP site whose connections pass a :class:`ConnectionGate` first."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        gate: ConnectionGate,
        header_timeout: float,
        *,
        shutdown_timeout: float = 5.0,
        backlog: int = ACCEPT_BACKLOG,
    ) -> None:
        super().__init__(runner, shutdown_timeout=shutdown_timeout, backlog=backlog)
        self.gate = gate
        self._host = host
        self._port = port
        self._header_timeout = header_timeout

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        if server is None:
            raise RuntimeError("the runner is not set up")
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: GuardedProtocol(server(), self.gate, self._header_timeout),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=True,
            family=socket.AF_UNSPEC,
        )
