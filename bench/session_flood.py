"""Session flood: what 10,000 new sessions from one address cost (issue 21, section 2).

Starts one chat server (no Rasa) with the **default** limits on a throwaway
SQLite database. From one address, ``--sockets`` connections send
``--sessions`` `session_request`s without an id in total (each earns a new
visitor id) and never write. Reports how many were confirmed, how many
`visitors` rows were stored (lazy rows: expected 0), the server's RSS before and
after, and then lets ``--writers`` of those visitors send one message each to
show that rows appear with the first thing worth storing.

A bystander behind another address (the flood and the bystander reach the
server through a trusted proxy, 127.0.0.1, with X-Forwarded-For) asks for a
session every ``--probe-interval`` seconds, before and during the flood: its
p50/p99 session round trip during the flood against the quiet one, in the
same run, is whether the flood slows other visitors down. Two modes in one
run: ``unpaced`` (the per-address packet budget lifted, as before it existed)
and ``paced`` (the shipped defaults).

    .venv/bin/python bench/session_flood.py [--sessions 10000] [--sockets 20] [--writers 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import handoff_latency, report  # noqa: E402
from bench.handoff_latency import start_chat_server  # noqa: E402
from dev.devstack import free_port  # noqa: E402
from tests.support.limits import GENEROUS_LIMITS_ENV  # noqa: E402

# Kept at their defaults: what a session request and a first message count against.
DEFAULT_LIMITS = ("RATE_LIMIT_NEW_VISITORS_PER_IP", "RATE_LIMIT_SIGNALS")
# Documentation addresses, only ever written into X-Forwarded-For.
FLOOD_ADDRESS = "198.51.100.7"
BYSTANDER_ADDRESS = "203.0.113.9"


async def probe(url: str, interval: float, stop: asyncio.Event) -> list[float]:
    """A bystander's new-visitor round trips (seconds): connect, ask for a
    session, get it; one every ``interval`` until ``stop``."""
    times: list[float] = []
    while not stop.is_set():
        client = socketio.AsyncClient(reconnection=False)
        confirmed: asyncio.Queue[Any] = asyncio.Queue()
        client.on("session_confirm", confirmed.put_nowait)
        started = time.monotonic()
        await client.connect(
            url, headers={"X-Forwarded-For": BYSTANDER_ADDRESS}, transports=["websocket"]
        )
        try:
            await client.emit("session_request", {"session_id": None})
            await asyncio.wait_for(confirmed.get(), 30)
            times.append(time.monotonic() - started)
        finally:
            await client.disconnect()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
    return times


def quantiles(times: list[float]) -> dict[str, float | None]:
    if len(times) < 2:
        return {"n": len(times), "p50_ms": None, "p99_ms": None}
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return {
        "n": len(times),
        "p50_ms": round(cuts[49] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
    }


async def quiet_then_flood(
    url: str, sessions: int, sockets: int, interval: float, quiet_seconds: float
) -> tuple[list[str], list[Any], list[float], list[float], float]:
    """The bystander alone for ``quiet_seconds``, then again during the flood."""
    stop = asyncio.Event()
    quiet_task = asyncio.create_task(probe(url, interval, stop))
    await asyncio.sleep(quiet_seconds)
    stop.set()
    quiet = await quiet_task
    stop = asyncio.Event()
    during_task = asyncio.create_task(probe(url, interval, stop))
    started = time.monotonic()
    # The flood runs in a process of its own, so its client work does not
    # delay the bystander's (only the server is shared, as in real life).
    with ProcessPoolExecutor(1) as pool:
        confirmed, refused = await asyncio.get_running_loop().run_in_executor(
            pool, run_flood, url, sessions, sockets
        )
    seconds = time.monotonic() - started
    stop.set()
    during = await during_task
    return confirmed, refused, quiet, during, seconds


def visitor_rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("select count(*) from visitors").fetchone()[0])


async def one_connection(url: str, budget: int, confirmed: list[str], refused: list[Any]) -> int:
    """Send up to ``budget`` session requests on one connection as fast as
    possible; return how many the server answered before it closed it."""
    client = socketio.AsyncClient(reconnection=False)
    answered = 0
    sent = 0
    done = asyncio.Event()

    def answer() -> None:
        nonlocal answered
        answered += 1
        if answered >= budget:
            done.set()

    def on_confirm(data: dict[str, Any]) -> None:
        confirmed.append(data["session_id"])
        answer()

    def on_error(data: Any) -> None:
        refused.append(data)
        answer()

    client.on("session_confirm", on_confirm)
    client.on("error", on_error)
    client.on("disconnect", done.set)
    try:
        await client.connect(
            url, headers={"X-Forwarded-For": FLOOD_ADDRESS}, transports=["websocket"]
        )
    except socketio.exceptions.ConnectionError as exc:
        refused.append({"code": f"connect refused: {exc}"})
        await asyncio.sleep(0.05)
        return 1
    try:
        while sent < budget and not done.is_set():
            await client.emit("session_request", {"session_id": None})
            sent += 1
            await asyncio.sleep(0)
    except socketio.exceptions.SocketIOError:
        pass  # closed by the server
    if answered >= sent:
        done.set()
    # Every answer, or the server closing the socket (or a minute).
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), 60)
    await client.disconnect()
    # What the server answered counts as done; the rest is sent again on a
    # new connection.
    return max(answered, 1)


async def flood(url: str, sessions: int, sockets: int) -> tuple[list[str], list[Any]]:
    """``sockets`` connections send ``sessions`` session requests in all, as fast
    as they can; one the server closes reconnects and goes on (the worst case:
    an attacker who ignores refusals and comes back)."""
    confirmed: list[str] = []
    refused: list[Any] = []
    per_socket = sessions // sockets

    async def one_socket() -> None:
        sent = 0
        while sent < per_socket:
            sent += await one_connection(url, per_socket - sent, confirmed, refused)

    await asyncio.gather(*(one_socket() for _ in range(sockets)))
    return confirmed, refused


def run_flood(url: str, sessions: int, sockets: int) -> tuple[list[str], list[Any]]:
    return asyncio.run(flood(url, sessions, sockets))


async def write(url: str, session_ids: list[str]) -> list[Any]:
    acks = []
    for session_id in session_ids:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(
            url, headers={"X-Forwarded-For": FLOOD_ADDRESS}, transports=["websocket"]
        )
        await client.emit("session_request", {"session_id": session_id})
        await asyncio.sleep(0.2)
        acks.append(
            await client.call(
                "user_uttered", {"message": "hi", "session_id": session_id}, timeout=30
            )
        )
        await client.disconnect()
    return acks


PACING = ("SOCKET_PACKETS_PER_SECOND_PER_IP", "SOCKET_PACKET_BURST_PER_IP")
# "paced": the per-address packet budget at its defaults (the shipped
# configuration); "unpaced": the budget lifted, as before it existed.
MODES = ("unpaced", "paced")


def run_mode(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "flood.sqlite"
        port = free_port()
        # DEFAULT_LIMITS at their defaults (the others stay generous: they are
        # not what this measures, and --sockets fits within their defaults anyway).
        kept = DEFAULT_LIMITS + (PACING if mode == "paced" else ())
        handoff_latency.GENEROUS_LIMITS_ENV = {
            k: v for k, v in GENEROUS_LIMITS_ENV.items() if k not in kept
        }
        proc = start_chat_server(
            f"sqlite+aiosqlite:///{db_path}",
            port,
            Path(tmp) / "chat.log",
            extra_env={"TRUSTED_PROXIES": "127.0.0.1"},
        )
        try:
            server = psutil.Process(proc.pid)
            rss_before = server.memory_info().rss
            cpu_before = sum(server.cpu_times()[:2])
            confirmed, refused, quiet, during, seconds = asyncio.run(
                quiet_then_flood(
                    f"http://127.0.0.1:{port}",
                    args.sessions,
                    args.sockets,
                    args.probe_interval,
                    args.quiet_seconds,
                )
            )
            rss_after = server.memory_info().rss
            # Includes the bystander's few requests and the quiet phase (idle).
            cpu_seconds = sum(server.cpu_times()[:2]) - cpu_before
            rows_after_flood = visitor_rows(db_path)
            acks = asyncio.run(write(f"http://127.0.0.1:{port}", confirmed[: args.writers]))
            rows_after_writes = visitor_rows(db_path)
        finally:
            proc.terminate()
            proc.wait(10)
    quiet_q, during_q = quantiles(quiet), quantiles(during)

    def ratio(key: str) -> float | None:
        a, b = during_q[key], quiet_q[key]
        return round(a / b, 2) if a is not None and b else None

    return {
        "sessions_requested": args.sessions,
        "sessions_confirmed": len(confirmed),
        "sessions_refused": len(refused),
        "refusal_codes": sorted({str(r.get("code"))[:40] for r in refused}),
        "distinct_visitor_ids": len({s.split(".")[0] for s in confirmed}),
        "visitor_rows_after_flood": rows_after_flood,
        "rss_before_mb": round(rss_before / 2**20, 1),
        "rss_after_mb": round(rss_after / 2**20, 1),
        "flood_seconds": round(seconds, 1),
        "server_cpu_seconds": round(cpu_seconds, 2),
        "server_cpu_ms_per_request": round(cpu_seconds * 1000 / args.sessions, 3),
        "server_cpu_share_during_flood": round(cpu_seconds / seconds, 2) if seconds else None,
        "default_limits": list(kept),
        "writers": args.writers,
        "writers_stored": sum(1 for a in acks if isinstance(a, dict) and a.get("ok")),
        "visitor_rows_after_writes": rows_after_writes,
        "bystander_quiet": quiet_q,
        "bystander_during_flood": during_q,
        "bystander_p50_ratio": ratio("p50_ms"),
        "bystander_p99_ratio": ratio("p99_ms"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--sockets", type=int, default=20)
    parser.add_argument("--writers", type=int, default=5)
    parser.add_argument("--probe-interval", type=float, default=0.1)
    parser.add_argument("--quiet-seconds", type=float, default=5.0)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for mode in args.modes:
        results[mode] = run_mode(mode, args)
        print(mode)
        for key, value in results[mode].items():
            print(f"  {key:30} {value}")
    report.write("session_flood", vars(args), results)


if __name__ == "__main__":
    main()
