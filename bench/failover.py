"""Failover: a rolling restart of a node with 10,000 widgets connected, nothing lost.

Two chat-server nodes on one PostgreSQL database (a throwaway one on
127.0.0.1:5432) and a redis-server this script starts, as docker-compose.yml
runs them; a stand-in bot on loopback answers at once (bench/relay_overhead.py),
so a message is stored, answered and acknowledged as with Rasa, without Rasa
taking the cores.

1. ``--visitors`` widget connections (Socket.IO over raw websockets, as in
   bench/idle_capacity.py) open on node A and get a session. ``--talkers`` of
   them send a first message and wait for its ack (stored and answered).
2. Node A gets SIGTERM. At that moment every talker sends another message,
   as a person typing during the restart would.
3. Each client, once its connection is closed, waits as socket.io-client does
   (1 s ± 50 %) and reconnects to node B with its session id. A talker whose
   message was not acknowledged on A sends it again on B with the same client
   id (the widget's outbox does this).

Reported: how long node A took to exit; when clients saw the close; when
they had a session again on B (p50, p99, all); how many resumed their own
session (same id: the same visitor, memory and conversation); and, read from
the database, whether every talker's message was stored exactly once and
answered. Also the load generator's own CPU.

    .venv/bin/python bench/failover.py [--visitors 10000] [--talkers 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.handoff_latency import start_chat_server, stop_chat_servers  # noqa: E402
from bench.idle_capacity import _exited  # noqa: E402
from bench.relay_overhead import stand_in_bot  # noqa: E402
from bench.stats import percentile  # noqa: E402
from dev.devstack import free_port  # noqa: E402
from tests.conftest import postgres_database  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402

ACK_TIMEOUT = 10.0


class Connection:
    """One Engine.IO v4 websocket on the default namespace, spoken by hand."""

    def __init__(self, session_id: str | None) -> None:
        self.asked_for = session_id
        self.session_id: str | None = None
        self.joined = asyncio.Event()  # the namespace handshake is done
        self.confirmed = asyncio.Event()
        self.confirmed_at: float | None = None
        self.closed_at: float | None = None
        self.close_packet = False
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._next_ack = 0

    async def run(self, http: aiohttp.ClientSession, url: str) -> None:
        try:
            async with http.ws_connect(url, heartbeat=None) as ws:
                self.ws = ws
                async for msg in ws:
                    if isinstance(msg.data, str):
                        await self._packet(ws, msg.data)
        except (aiohttp.ClientError, OSError):
            pass
        finally:
            self.closed_at = self.closed_at or time.monotonic()
            for future in self._acks.values():
                if not future.done():
                    future.set_exception(ConnectionError("closed"))
            self.joined.set()  # waiters see session_id None: no session
            self.confirmed.set()

    async def _packet(self, ws: aiohttp.ClientWebSocketResponse, data: str) -> None:
        if data.startswith("0"):  # Engine.IO open
            await ws.send_str("40")
        elif data.startswith("40"):  # namespace joined
            self.joined.set()
            request = {"session_id": self.asked_for, "rapport": 1}
            await ws.send_str("42" + json.dumps(["session_request", request]))
        elif data == "2":
            await ws.send_str("3")
        elif data.startswith('42["session_confirm"'):
            self.session_id = json.loads(data[2:])[1]["session_id"]
            self.confirmed_at = time.monotonic()
            self.confirmed.set()
        elif data.startswith("43"):  # an ack: 43<id>[payload]
            body = data[2:]
            split = body.index("[")
            future = self._acks.pop(int(body[:split]), None)
            if future is not None and not future.done():
                future.set_result(json.loads(body[split:])[0])
        elif data == "1" and self.closed_at is None:  # Engine.IO close
            self.closed_at = time.monotonic()
            self.close_packet = True

    async def say(self, message: str, client_id: str) -> dict[str, Any]:
        """user_uttered with an ack; raises when the connection goes or no ack comes."""
        if self.ws is None or self.ws.closed or self.closed_at is not None:
            raise ConnectionError("closed")
        self._next_ack += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[self._next_ack] = future
        payload = {"message": message, "session_id": self.session_id, "client_id": client_id}
        await self.ws.send_str(f"42{self._next_ack}" + json.dumps(["user_uttered", payload]))
        ack: dict[str, Any] = await asyncio.wait_for(future, ACK_TIMEOUT)
        return ack


class Visitor:
    def __init__(self, index: int, talker: bool) -> None:
        self.index = index
        self.talker = talker
        self.client_id = f"failover-{index:06d}"
        self.first: Connection | None = None
        self.second: Connection | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.acked_on: str | None = None  # "A" or "B": where "during" was acknowledged

    async def join(self, http: aiohttp.ClientSession, url: str) -> None:
        self.first = Connection(None)
        self.tasks.append(asyncio.create_task(self.first.run(http, url)))
        await asyncio.wait_for(self.first.confirmed.wait(), 120)
        if self.talker:
            await self.first.say(f"before-{self.index}", f"before-{self.index:06d}")

    async def switch(self, http: aiohttp.ClientSession, url: str, sigterm: asyncio.Event) -> None:
        assert self.first is not None
        await sigterm.wait()
        during = asyncio.create_task(self._say_during(self.first)) if self.talker else None
        await self.tasks[0]  # node A closed this connection
        await asyncio.sleep(random.uniform(0.5, 1.5))  # socket.io-client's first retry
        for _ in range(10):
            self.second = Connection(self.first.session_id)
            self.tasks.append(asyncio.create_task(self.second.run(http, url)))
            # As the widget: socket.io-client gives up on a connection whose
            # handshake takes over 20 s and tries again; once connected, it
            # waits for session_confirm as long as the connection lasts.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.second.joined.wait(), 20)
                await asyncio.wait_for(self.second.confirmed.wait(), 600)
            if self.second.session_id is not None:
                break
            self.tasks[-1].cancel()
            await asyncio.sleep(random.uniform(1, 3))
        if during is not None:
            await asyncio.gather(during, return_exceptions=True)
            if self.acked_on is None and self.second is not None:
                await self._say_during(self.second, "B")

    async def _say_during(self, connection: Connection, node: str = "A") -> None:
        for _ in range(5 if node == "B" else 1):
            try:
                ack = await connection.say(f"during-{self.index}", self.client_id)
            except (ConnectionError, TimeoutError, aiohttp.ClientError):
                if node == "A":
                    return
                await asyncio.sleep(1)
                continue
            if ack.get("ok"):
                self.acked_on = node
                return
            await asyncio.sleep(1)


async def run(
    args: argparse.Namespace, urls: list[str], node_a: psutil.Process, database_url: str
) -> dict[str, Any]:
    path = "/socket.io/?EIO=4&transport=websocket"
    ws_urls = [u.replace("http://", "ws://") + path for u in urls]
    visitors = [Visitor(i, i < args.talkers) for i in range(args.visitors)]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        with report.own_cpu() as connecting:
            for start in range(0, len(visitors), args.batch):
                batch = visitors[start : start + args.batch]
                await asyncio.gather(*(v.join(http, ws_urls[0]) for v in batch))
        joined = sum(1 for v in visitors if v.first and v.first.session_id)
        await asyncio.sleep(3)
        sigterm = asyncio.Event()
        switching = [asyncio.create_task(v.switch(http, ws_urls[1], sigterm)) for v in visitors]
        with report.own_cpu() as switching_cpu:
            sent = time.monotonic()
            node_a.terminate()
            sigterm.set()
            exited_after = None
            while time.monotonic() - sent < args.shutdown_wait:
                if _exited(node_a):
                    exited_after = time.monotonic() - sent
                    break
                await asyncio.sleep(0.05)
            await asyncio.wait_for(asyncio.gather(*switching, return_exceptions=True), 900)
        errors = [repr(t.exception()) for t in switching if t.exception() is not None]
        for visitor in visitors:
            for task in visitor.tasks:
                task.cancel()
        await asyncio.gather(*(t for v in visitors for t in v.tasks), return_exceptions=True)

    def seconds(values: list[float]) -> dict[str, float | None]:
        return {
            "p50": round(percentile(values, 50), 2) if values else None,
            "p99": round(percentile(values, 99), 2) if values else None,
            "all": round(max(values), 2) if values else None,
        }

    closed = [v.first.closed_at - sent for v in visitors if v.first and v.first.closed_at]
    back = [
        v.second.confirmed_at - sent
        for v in visitors
        if v.second and v.second.confirmed_at and v.second.session_id
    ]
    resumed = sum(
        1
        for v in visitors
        if v.first and v.second and v.first.session_id and v.second.session_id == v.first.session_id
    )
    talkers = [v for v in visitors if v.talker]
    stored = await stored_once(database_url, [v.client_id for v in talkers])
    return {
        "visitors": args.visitors,
        "joined_node_a": joined,
        "connect_seconds": connecting["wall_seconds"],
        "node_a_exited_after_seconds": round(exited_after, 2) if exited_after else None,
        "clients_told_close": sum(1 for v in visitors if v.first and v.first.close_packet),
        "clients_closed_after_sigterm_seconds": seconds(closed),
        "clients_with_a_session_on_b": len(back),
        "session_on_b_after_sigterm_seconds": seconds(back),
        "resumed_their_own_session": resumed,
        "talkers": len(talkers),
        "talker_messages_acked_on_a": sum(1 for v in talkers if v.acked_on == "A"),
        "talker_messages_acked_on_b": sum(1 for v in talkers if v.acked_on == "B"),
        "talker_messages_never_acked": sum(1 for v in talkers if v.acked_on is None),
        **stored,
        "errors": sorted(set(errors))[:5],
        "load_generator_connecting": connecting,
        "load_generator_switching": switching_cpu,
    }


async def stored_once(database_url: str, client_ids: list[str]) -> dict[str, int]:
    """How the talkers' "during" messages ended up in the database."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT client_id, count(*) AS n, bool_and(handled) AS handled"
                        " FROM messages WHERE client_id = ANY(:ids) GROUP BY client_id"
                    ),
                    {"ids": client_ids},
                )
            ).all()
    finally:
        await engine.dispose()
    counts = {row.client_id: row.n for row in rows}
    return {
        "talker_messages_stored_once": sum(1 for c in client_ids if counts.get(c) == 1),
        "talker_messages_stored_twice_or_more": sum(1 for c in client_ids if counts.get(c, 0) > 1),
        "talker_messages_missing": sum(1 for c in client_ids if c not in counts),
        "talker_messages_answered": sum(1 for row in rows if row.handled),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Start the stand-in bot, Redis, PostgreSQL and two nodes; run; stop them."""
    bot_port = free_port()
    stand_in_bot(bot_port)
    with (
        tempfile.TemporaryDirectory() as name,
        RedisServer(Path(name)) as redis,
        postgres_database() as database_url,
    ):
        tmp = Path(name)
        env = {
            "REDIS_URL": redis.url(0),
            "RASA_URL": f"http://127.0.0.1:{bot_port}",
            "ACTION_SERVER_URL": f"http://127.0.0.1:{bot_port}",
            "RASA_TIMEOUT": "10",
            "LOG_LEVEL": "INFO",
        }
        ports = [free_port(), free_port()]
        logs = [tmp / "node-a.log", tmp / "node-b.log"]
        servers = [
            start_chat_server(database_url, port, log, env)
            for port, log in zip(ports, logs, strict=True)
        ]
        try:
            urls = [f"http://127.0.0.1:{p}" for p in ports]
            result = asyncio.run(run(args, urls, psutil.Process(servers[0].pid), database_url))
            result["node_a_log"] = [
                line for line in logs[0].read_text().splitlines() if "shutdown:" in line
            ]
        finally:
            stop_chat_servers(servers)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visitors", type=int, default=10_000)
    parser.add_argument("--talkers", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--shutdown-wait", type=float, default=120.0)
    parser.add_argument("--out", default="failover", help="bench/results/<out>.json")
    args = parser.parse_args()
    result = measure(args)
    print(json.dumps(result, indent=2))
    report.write(args.out, vars(args), result)


if __name__ == "__main__":
    main()
