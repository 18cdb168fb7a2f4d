"""Idle capacity: many connected, idle visitors on one chat-server process.

Starts one chat server (no Rasa) on a throwaway database and opens
``--visitors`` widget connections (Socket.IO over a raw websocket, so the load
generator stays light: one aiohttp websocket per visitor, answering the
server's pings). Each visitor asks for a session, as the widget does on
load, then stays idle. Reports the server's RSS before and after, RSS per
connection, and the CPU the server spends over ``--idle`` seconds of idling
(ping/pong and timers only). Then the server gets SIGTERM with every visitor
still connected (a rolling restart): how long until every client has seen
its connection closed (so it can reconnect to another node), and until the
process has exited.

    .venv/bin/python bench/idle_capacity.py [--visitors 10000] [--idle 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.handoff_latency import start_chat_server  # noqa: E402
from dev.devstack import free_port  # noqa: E402

SESSION_REQUEST = '42["session_request",{"session_id":null,"rapport":1}]'


class IdleVisitor:
    """One Engine.IO v4 websocket: open, join "/", request a session, then pong."""

    def __init__(self) -> None:
        self.confirmed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.failed: str | None = None
        # When the server closed the connection (time.monotonic()), and whether
        # it said so first (the Engine.IO close packet) rather than just hanging up.
        self.closed_at: float | None = None
        self.close_packet = False

    async def run(self, http: aiohttp.ClientSession, url: str) -> None:
        try:
            async with http.ws_connect(url, heartbeat=None, autoping=True) as ws:
                async for msg in ws:
                    data = msg.data
                    if not isinstance(data, str):
                        continue
                    if data.startswith("0"):  # Engine.IO open
                        await ws.send_str("40")
                    elif data.startswith("40"):  # namespace joined
                        await ws.send_str(SESSION_REQUEST)
                    elif data == "2":  # ping
                        await ws.send_str("3")
                    elif data.startswith('42["session_confirm"'):
                        self.confirmed.set()
                    elif data == "1" and self.closed_at is None:
                        # Engine.IO close: a client reconnects (elsewhere) on this.
                        self.closed_at = time.monotonic()
                        self.close_packet = True
            self.closed_at = self.closed_at or time.monotonic()
        except (aiohttp.ClientError, OSError) as exc:
            self.failed = repr(exc)
            self.closed_at = self.closed_at or time.monotonic()
        finally:
            self.confirmed.set()


async def run(args: argparse.Namespace, port: int, pid: int) -> dict[str, Any]:
    server = psutil.Process(pid)
    await asyncio.sleep(2)
    rss_before = server.memory_info().rss
    url = f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"
    visitors = [IdleVisitor() for _ in range(args.visitors)]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        with report.own_cpu() as connecting:
            for start in range(0, len(visitors), args.batch):
                batch = visitors[start : start + args.batch]
                for visitor in batch:
                    visitor.task = asyncio.create_task(visitor.run(http, url))
                await asyncio.wait_for(asyncio.gather(*(v.confirmed.wait() for v in batch)), 120)
        failed = [v.failed for v in visitors if v.failed]
        connected = len(visitors) - len(failed)
        await asyncio.sleep(5)  # settle (pending writes, GC)
        rss_connected = server.memory_info().rss
        cpu_before = sum(server.cpu_times()[:2])
        with report.own_cpu() as idling:
            await asyncio.sleep(args.idle)
        server_idle_cpu = sum(server.cpu_times()[:2]) - cpu_before
        still = sum(1 for v in visitors if v.task is not None and not v.task.done())
        shutdown = await stop_with_everyone_connected(server, visitors, args.shutdown_wait)
        for visitor in visitors:
            if visitor.task is not None:
                visitor.task.cancel()
        await asyncio.gather(*(v.task for v in visitors if v.task), return_exceptions=True)
    return {
        "visitors": args.visitors,
        "connected": connected,
        "still_connected_after_idle": still,
        "failures": sorted(set(failed))[:5],
        "connect_seconds": connecting["wall_seconds"],
        "server_rss_mib_before": round(rss_before / 2**20, 1),
        "server_rss_mib_connected": round(rss_connected / 2**20, 1),
        "rss_kib_per_connection": round((rss_connected - rss_before) / max(1, connected) / 1024, 1),
        "server_idle_cpu_share_of_one_core": round(server_idle_cpu / args.idle, 3),
        "idle_seconds": args.idle,
        "load_generator_connecting": connecting,
        "load_generator_idle": idling,
        "shutdown": shutdown,
    }


async def stop_with_everyone_connected(
    server: psutil.Process, visitors: list[IdleVisitor], wait: float
) -> dict[str, Any]:
    """SIGTERM with every visitor connected: when each saw its close, when the process ended."""
    connected = [v for v in visitors if v.task is not None and not v.task.done()]
    sent = time.monotonic()
    server.terminate()
    exited_after: float | None = None
    while time.monotonic() - sent < wait:
        if _exited(server):
            exited_after = time.monotonic() - sent
            break
        await asyncio.sleep(0.05)
    closes = sorted(v.closed_at - sent for v in connected if v.closed_at is not None)

    def at(q: float) -> float | None:
        return round(closes[min(len(closes) - 1, int(q * len(closes)))], 2) if closes else None

    return {
        "connected_at_sigterm": len(connected),
        "clients_closed": len(closes),
        "clients_told_close": sum(1 for v in connected if v.close_packet),
        "all_clients_closed_after_seconds": at(1.0) if len(closes) == len(connected) else None,
        "clients_closed_p50_seconds": at(0.5),
        "process_exited_after_seconds": round(exited_after, 2) if exited_after else None,
        "waited_seconds": wait,
    }


def _exited(server: psutil.Process) -> bool:
    """Gone, or a zombie waiting for this process to reap it."""
    try:
        return server.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visitors", type=int, default=10_000)
    parser.add_argument("--idle", type=float, default=60.0)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument(
        "--shutdown-wait", type=float, default=120.0, help="how long SIGTERM may take"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        log = Path(tmp) / "chat.log"
        server = start_chat_server(
            f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", port, log, {"LOG_LEVEL": "INFO"}
        )
        started = time.perf_counter()
        try:
            result = asyncio.run(run(args, port, server.pid))
            result["total_seconds"] = round(time.perf_counter() - started, 1)
            result["shutdown"]["server_log"] = [
                line for line in log.read_text().splitlines() if "shutdown:" in line
            ]
            print(json.dumps(result, indent=2))
            report.write("idle_capacity", vars(args), result)
        finally:
            # Normally gone already (the shutdown phase); killed if it did not stop.
            if server.poll() is None:
                server.kill()
            server.wait()


if __name__ == "__main__":
    main()
