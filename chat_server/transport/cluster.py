"""Several chat-server nodes sharing one Redis (REDIS_URL).

- ``RedisFanout`` is python-socketio's ``AsyncRedisManager``: an emit on one
  node reaches the sockets of every node (a visitor on node A, the agent on
  node B). Redis pub/sub keeps nothing, so storage stays the source of truth:
  when the node's subscription comes back after Redis was unreachable,
  ``on_resumed`` runs and the node tells its own sockets to catch up from the
  database (the ``resync`` event) instead of leaving them with a gap; each
  visitor socket also reads on from its own position (transport/delivery.py).
- ``ClusterPresence`` answers "is this room joined on any node?" (is an agent
  online, is the visitor still here) without a round trip: every node writes
  the rooms its sockets are in to Redis each second, with a short expiry, and
  reads the other nodes' lists back. A node that dies drops out within
  ``NODE_TTL_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis
import socketio
from redis import asyncio as aioredis
from redis.driver_info import DriverInfo
from redis.exceptions import RedisError

from chat_server.transport.delivery import NAMESPACE as VISITOR_NAMESPACE
from chat_server.transport.delivery import DeliveringManager

log = logging.getLogger(__name__)

CHANNEL = "rapport"
NODES_KEY = "rapport:nodes"
NODE_KEY = "rapport:node:{}"
# How often a node writes its rooms, and how long the list counts without renewal.
PUBLISH_SECONDS = 1.0
NODE_TTL_SECONDS = 5
# Reconnect delays of the subscription: short, so a Redis restart costs seconds.
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 5.0
REDIS_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 2,
    "health_check_interval": 15,
    # Else redis-py reads its own version from the package metadata for every
    # new connection (an e-mail header parse: milliseconds each).
    "driver_info": DriverInfo(lib_version=redis.__version__),
}
# Publishing connections per node. redis-py's default pool *raises* past 100
# connections in use; python-socketio then rebuilds the client and tries once
# more, and gives up: an emit lost between nodes. A burst (10,000 visitors
# reconnecting after a rolling restart: a publish per room they leave) waits
# for a free connection instead, at most REDIS_POOL_WAIT_SECONDS.
REDIS_POOL_SIZE = 64
REDIS_POOL_WAIT_SECONDS = 10.0


def node_name() -> str:
    """A name for this process that no other node shares."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


# How long a socket still in its connect handler is watched, once asked to close.
HANDSHAKE_WATCH_SECONDS = 30.0
_HANDSHAKE_WATCHES: set[asyncio.Task[None]] = set()


async def disconnect_local(sio: socketio.AsyncServer, namespace: str, room: str) -> None:
    """Close every socket of this node that is in ``room``.

    A socket whose connect handler is still running (it has joined the room
    but is not connected yet) is ignored by ``sio.disconnect``; it would then
    complete its handshake with a revoked credential. Such a socket is closed
    as soon as its handshake completes.
    """
    manager = sio.manager
    for sid, _ in list(manager.get_participants(namespace, room)):
        if manager.is_connected(sid, namespace):
            await sio.disconnect(sid, namespace=namespace, ignore_queue=True)
        else:
            task = asyncio.create_task(_disconnect_after_handshake(sio, namespace, sid))
            _HANDSHAKE_WATCHES.add(task)
            task.add_done_callback(_HANDSHAKE_WATCHES.discard)


async def _disconnect_after_handshake(sio: socketio.AsyncServer, namespace: str, sid: str) -> None:
    manager = sio.manager
    deadline = time.monotonic() + HANDSHAKE_WATCH_SECONDS
    while time.monotonic() < deadline:
        if manager.is_connected(sid, namespace):
            await sio.disconnect(sid, namespace=namespace, ignore_queue=True)
            return
        if manager.eio_sid_from_sid(sid, namespace) is None:
            return  # refused or gone
        await asyncio.sleep(0.05)


class RedisFanout(socketio.AsyncRedisManager, DeliveringManager):
    """``AsyncRedisManager`` that reports when its subscription is back after a loss.

    Its local emits go through DeliveringManager (once-only, in-order
    delivery of a visitor's messages to this node's sockets).
    """

    def __init__(self, url: str) -> None:
        super().__init__(url, channel=CHANNEL, redis_options=dict(REDIS_OPTIONS))
        # Called (as a background task) once the subscription works again.
        self.on_resumed: Callable[[], Awaitable[None]] | None = None
        self.subscribed = False

    def _redis_connect(self) -> None:
        """The library's client, on a pool that waits when all connections are busy."""
        if not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            super()._redis_connect()  # Sentinel, Valkey: the library's own
            return
        pool = aioredis.BlockingConnectionPool.from_url(
            self.redis_url,
            max_connections=REDIS_POOL_SIZE,
            timeout=REDIS_POOL_WAIT_SECONDS,
            **self.redis_options,
        )
        self.redis = aioredis.Redis(connection_pool=pool)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.connected = True

    async def disconnect_room_elsewhere(self, namespace: str, room: str) -> None:
        """Ask the other nodes to close their sockets in ``room`` (a revoked session).

        Rides on the library's ``close_room`` message with a ``disconnect``
        flag; a node without this class would just empty the room instead.
        """
        await self._publish(
            {
                "method": "close_room",
                "room": room,
                "namespace": namespace,
                "disconnect": True,
                "host_id": self.host_id,
            }
        )

    async def _handle_close_room(self, message: dict[str, Any]) -> None:
        if message.get("disconnect"):
            await disconnect_local(
                self.server, str(message.get("namespace")), str(message.get("room"))
            )
            return
        await super()._handle_close_room(message)

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        # Replaces the library's loop (python-socketio 5.18, pinned) for two
        # reasons: its retry delay doubles up to 60 s, and it says nothing
        # when it is back, so clients would never learn what they missed.
        delay = RETRY_FIRST_SECONDS
        lost = False
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel)
                self.subscribed = True
                delay = RETRY_FIRST_SECONDS
                if lost:
                    lost = False
                    log.warning("Redis is back: live fan-out between nodes resumed")
                    if self.on_resumed is not None:
                        self.server.start_background_task(self.on_resumed)
                async for message in self.pubsub.listen():
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure of the connection: retry
                if not lost:
                    log.error(
                        "Redis unreachable (%s): messages are stored and answered; "
                        "live fan-out between nodes waits for it",
                        type(exc).__name__,
                    )
                lost = True
                self.subscribed = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)


@dataclass
class _Node:
    rooms: dict[str, set[str]] = field(default_factory=dict)
    connections: dict[str, int] = field(default_factory=dict)
    # Visits (services/presence.py) as JSON: visitor_id, since, page_url, page_title.
    visits: list[dict[str, Any]] = field(default_factory=list)
    seen: float = 0.0


class ClusterPresence:
    """The rooms joined on the other nodes, as each of them last wrote to Redis."""

    def __init__(
        self,
        url: str,
        name: str,
        local_rooms: Callable[[], dict[str, list[str]]],
        local_connections: Callable[[], dict[str, int]],
        local_visits: Callable[[], list[dict[str, Any]]] = list,
    ) -> None:
        self.name = name
        self._redis = aioredis.Redis.from_url(url, **REDIS_OPTIONS, socket_timeout=3)
        self._local_rooms = local_rooms
        self._local_connections = local_connections
        self.local_visits = local_visits
        self._others: dict[str, _Node] = {}
        self.reachable = False
        # Called when the other nodes' visits changed (the live visitors list).
        self.on_visits_changed: Callable[[], None] | None = None
        # Called with the visitor rooms joined or left on the other nodes as
        # this node sees them: a node came back after a Redis outage or went
        # away, or a visitor socket joined or left there.
        self.on_visitor_rooms_changed: Callable[[set[str]], None] | None = None

    def _fresh(self) -> list[_Node]:
        cutoff = time.monotonic() - NODE_TTL_SECONDS
        return [n for n in self._others.values() if n.seen >= cutoff]

    def has(self, namespace: str, room: str) -> bool:
        """Whether a socket of another node is in ``room``."""
        return any(room in n.rooms.get(namespace, ()) for n in self._fresh())

    def rooms(self, namespace: str) -> set[str]:
        """Every room joined on another node in ``namespace``."""
        found: set[str] = set()
        for n in self._fresh():
            found |= n.rooms.get(namespace, set())
        return found

    def visits(self) -> list[dict[str, Any]]:
        """The visits on the other nodes."""
        return [v for n in self._fresh() for v in n.visits]

    def other_nodes(self) -> int:
        """How many other nodes wrote their rooms lately."""
        return len(self._fresh())

    def connections(self, namespace: str) -> int:
        """Sockets connected to the other nodes in ``namespace``."""
        return sum(n.connections.get(namespace, 0) for n in self._fresh())

    async def sync_once(self) -> None:
        """Write this node's rooms, then read the other nodes'."""
        snapshot = json.dumps(
            {
                "rooms": self._local_rooms(),
                "connections": self._local_connections(),
                "visits": self.local_visits(),
            }
        )
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(NODE_KEY.format(self.name), snapshot, ex=NODE_TTL_SECONDS)
            pipe.sadd(NODES_KEY, self.name)
            pipe.smembers(NODES_KEY)
            replies = await pipe.execute()
        names = sorted(n.decode() for n in replies[2] if n.decode() != self.name)
        values = await self._redis.mget([NODE_KEY.format(n) for n in names]) if names else []
        now = time.monotonic()
        others: dict[str, _Node] = {}
        gone = []
        for name, raw in zip(names, values, strict=True):
            if raw is None:  # expired: that node stopped or died
                gone.append(name)
                continue
            data = json.loads(raw)
            others[name] = _Node(
                rooms={ns: set(rooms) for ns, rooms in data["rooms"].items()},
                connections=data["connections"],
                visits=data.get("visits") or [],
                seen=now,
            )
        if gone:
            await self._redis.srem(NODES_KEY, *gone)
        before = self.visits()
        rooms_before = self.rooms(VISITOR_NAMESPACE)
        self._others = others
        if self.on_visits_changed is not None and self.visits() != before:
            self.on_visits_changed()
        changed = rooms_before ^ self.rooms(VISITOR_NAMESPACE)
        if changed and self.on_visitor_rooms_changed is not None:
            self.on_visitor_rooms_changed(changed)

    async def run(self) -> None:
        """Keep syncing until cancelled; a Redis outage only pauses it."""
        while True:
            try:
                await self.sync_once()
                if not self.reachable:
                    log.info("cluster presence: %d other node(s)", len(self._others))
                self.reachable = True
            except (RedisError, OSError, ValueError) as exc:
                if self.reachable:
                    log.error("cluster presence: Redis unreachable (%s)", type(exc).__name__)
                self.reachable = False
            await asyncio.sleep(PUBLISH_SECONDS)

    async def close(self) -> None:
        """Leave the cluster at once (others would wait for the expiry otherwise)."""
        with contextlib.suppress(RedisError, OSError):
            await self._redis.delete(NODE_KEY.format(self.name))
            await self._redis.srem(NODES_KEY, self.name)
        await self._redis.aclose()
