"""The chat server's own cost per bot turn, with the bot answering at once.

bench/bot_path.py measures the whole path with the real model, where Rasa's
40 to 50 ms of CPU per turn hides (and competes with) the chat server's share.
Here the chat server (a real process, on SQLite or PostgreSQL) talks to a
stand-in bot on loopback that answers every turn instantly with a reply
shaped like the real one (two messages, an intent, the bot's slots), so:

- a turn's latency at one visitor *is* the chat server's overhead;
- the chat server's CPU per turn is read from /proc, apart from the load
  generator's;
- optionally (``--flame NAME``) py-spy samples the server into
  ``bench/results/NAME.svg``.

The stand-in is a benchmark fixture only: the tests that prove the relay run
the real model (tests/integration/test_stack.py and friends).

    .venv/bin/python bench/relay_overhead.py [--visitors 1,50] [--messages 40]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.bot_path import SocketVisitor  # noqa: E402
from bench.stats import percentile  # noqa: E402
from dev.devstack import Stack, StackConfig, free_port  # noqa: E402
from tests.support.databases import PostgresDatabase  # noqa: E402
from tests.support.limits import GENEROUS_LIMITS_ENV  # noqa: E402

# What the real bot's rapport channel returns for a turn (bot/connectors/rapport_rest.py).
SLOTS: dict[str, Any] = {
    "name": None,
    "email": None,
    "product_category": "tents",
    "interests": ["camping"],
    "budget": None,
    "marketing_consent": None,
    "session_started_metadata": None,
    "requested_slot": None,
}
MESSAGES = [
    {"recipient_id": "x", "text": "Standard shipping is free over $50."},
    {"recipient_id": "x", "text": "Anything else I can help with?"},
]
REPLY: dict[str, Any] = {
    "messages": MESSAGES,
    "intent": {"name": "ask_shipping", "confidence": 0.97},
    "entities": [],
    "slots": SLOTS,
    "tracker_events": 24,
}


def stand_in_bot(port: int) -> threading.Event:
    """Serve Rasa's and the action server's endpoints on ``port`` in a thread."""

    async def turn(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(
            {**REPLY, "messages": [{**m, "recipient_id": body["sender"]} for m in MESSAGES]}
        )

    async def status(_: web.Request) -> web.Response:
        return web.json_response({"model_file": "stand-in.tar.gz"})

    async def ok(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/webhooks/rapport/webhook", turn)
    app.router.add_get("/status", status)
    app.router.add_get("/health", ok)
    app.router.add_get("/", ok)
    started = threading.Event()

    def serve() -> None:
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()

    threading.Thread(target=serve, daemon=True).start()
    started.wait(10)
    return started


async def run_level(url: str, pid: int, visitors: int, messages: int) -> dict[str, Any]:
    """``visitors`` concurrent visitors, each sending ``messages`` one after another."""
    latencies: list[float] = []
    clients = [SocketVisitor(rapport=True) for _ in range(visitors)]
    await asyncio.gather(*(c.connect(url) for c in clients))
    # Warm-up turn per visitor (first message opens a conversation).
    await asyncio.gather(*(c.turn("hello", 2) for c in clients))

    async def one(client: SocketVisitor) -> None:
        for i in range(messages):
            started = time.perf_counter()
            await client.turn(f"how much is shipping? {i}", 2)
            latencies.append((time.perf_counter() - started) * 1000)

    with report.servers_cpu({"chat": pid}) as server, report.own_cpu() as own:
        await asyncio.gather(*(one(c) for c in clients))
    await asyncio.gather(*(c.close() for c in clients))
    return {
        "visitors": visitors,
        "turns": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "mean_ms": round(statistics.mean(latencies), 2),
        "turns_per_s": round(len(latencies) / own["wall_seconds"], 1),
        "chat_cpu_ms_per_turn": round(server["chat"] * 1000 / len(latencies), 2),
        "chat_cpu_share_of_one_core": round(server["chat"] / own["wall_seconds"], 2),
        "load_generator": own,
    }


def measure(
    database_url: str, levels: list[int], messages: int, flame: str | None, tmp: Path
) -> list[dict[str, Any]]:
    bot_port = free_port()
    stand_in_bot(bot_port)
    config = StackConfig(
        model=Path("unused"),
        database_url=database_url,
        log_dir=tmp / "log",
        chat_port=free_port(),
        rasa_port=bot_port,
        action_port=bot_port,
        extra_env=dict(GENEROUS_LIMITS_ENV, LOG_LEVEL="WARNING", INTERACTION_LOG="true"),
    )
    config.log_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(config)
    rows = []
    try:
        stack.start_chat()
        stack.wait_healthy(60)
        pid = stack.procs["chat"].pid
        for level in levels:
            sampled = flame if level == max(levels) else None
            with report.flame_graph(pid if sampled else None, sampled or ""):
                row = asyncio.run(run_level(stack.base_url, pid, level, messages))
            print(
                f"x{level:<3d} p50 {row['p50_ms']:6.2f} p99 {row['p99_ms']:7.2f} ms  "
                f"{row['turns_per_s']:6.1f} turns/s  chat CPU {row['chat_cpu_ms_per_turn']:.2f} "
                f"ms/turn ({row['chat_cpu_share_of_one_core']:.2f} core)",
                flush=True,
            )
            rows.append(row)
    finally:
        stack.stop()
    return rows


async def on_postgres(
    levels: list[int], messages: int, flame: str | None, tmp: Path
) -> list[dict[str, Any]]:
    async with PostgresDatabase() as url:
        return await asyncio.to_thread(measure, url, levels, messages, flame, tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visitors", default="1,50", help="concurrency levels")
    parser.add_argument("--messages", type=int, default=40, help="turns per visitor")
    parser.add_argument("--database", default="sqlite", help="sqlite, postgres or both")
    parser.add_argument(
        "--flame", default="", help="py-spy flame graph name (top level; NAME.txt: raw stacks)"
    )
    parser.add_argument("--name", default="relay_overhead", help="results file name")
    args = parser.parse_args()
    levels = [int(x) for x in args.visitors.split(",")]
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for db in args.database.replace("both", "sqlite,postgres").split(","):
            print(f"-- {db}", flush=True)
            stem, dot, suffix = args.flame.partition(".")  # NAME.txt: collapsed stacks
            flame = f"{stem}_{db}{dot}{suffix}" if args.flame else None
            if db == "sqlite":
                url = f"sqlite+aiosqlite:///{tmp / 'relay.db'}"
                results[db] = measure(url, levels, args.messages, flame, tmp)
            else:
                results[db] = asyncio.run(on_postgres(levels, args.messages, flame, tmp))
    report.write(
        args.name,
        {"levels": levels, "messages_per_visitor": args.messages, "reply": REPLY},
        results,
    )


if __name__ == "__main__":
    main()
