"""Sustained persisted messages per second of one chat-server process (human path).

Starts one chat server (no Rasa: every visitor is with a person) on a
throwaway database, ``--agents`` agents online and ``--visitors`` visitors
each handed to one of them. Then every visitor sends ``--messages`` messages
back to back, as fast as the socket takes them. A message counts when it is
stored (persist before relay); the rate is stored messages over the time from
the first send to the last one stored, polled from the database. How many
reached an agent is reported too.

    .venv/bin/python bench/persist_throughput.py [--visitors 200] [--messages 50]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
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
from bench.handoff_latency import ADMIN_TOKEN, BenchVisitor, start_chat_server  # noqa: E402
from dev.devstack import free_port  # noqa: E402
from tests.support.agents import AgentClient, create_agent  # noqa: E402


def stored_visitor_messages(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(
            conn.execute("SELECT count(*) FROM messages WHERE direction = 'visitor'").fetchone()[0]
        )


async def run(args: argparse.Namespace, base_url: str, db: Path, pid: int) -> dict[str, Any]:
    agents: list[AgentClient] = []
    async with aiohttp.ClientSession() as http:
        for i in range(args.agents):
            data = await create_agent(
                http,
                base_url,
                ADMIN_TOKEN,
                name=f"Agent{i}",
                max_chats=max(1, -(-args.visitors // args.agents)),
            )
            agent = await AgentClient(base_url, data["username"]).login()
            await agent.connect()
            await agent.set_status("online")
            agents.append(agent)
    relayed = 0

    def on_message(data: dict[str, Any]) -> None:
        nonlocal relayed
        if (data["message"].get("text") or "").startswith("p-"):
            relayed += 1

    for agent in agents:
        assert agent.sio is not None
        agent.sio.on("message_created", on_message, namespace="/agent")

    visitors = [BenchVisitor({}) for _ in range(args.visitors)]
    for start in range(0, len(visitors), 50):
        await asyncio.gather(*(v.connect(base_url) for v in visitors[start : start + 50]))
    for start in range(0, len(visitors), 20):
        await asyncio.gather(*(v.say("hello, I need help") for v in visitors[start : start + 20]))
    await asyncio.wait_for(asyncio.gather(*(v.assigned.wait() for v in visitors)), 120)
    baseline = stored_visitor_messages(db)
    expected = args.visitors * args.messages
    server = psutil.Process(pid)
    server_cpu_before = sum(server.cpu_times()[:2])

    async def blast(index: int, visitor: BenchVisitor) -> None:
        for n in range(args.messages):
            await visitor.say(f"p-{index}-{n}")

    with report.own_cpu() as generator:
        started = time.perf_counter()
        await asyncio.gather(*(blast(i, v) for i, v in enumerate(visitors)))
        sent_in = time.perf_counter() - started
        stored, last_change, previous = 0, time.perf_counter(), -1
        while time.perf_counter() - last_change < 3:  # until nothing new for 3 s
            stored = stored_visitor_messages(db) - baseline
            if stored != previous:
                previous, last_change = stored, time.perf_counter()
            if stored >= expected:
                break
            await asyncio.sleep(0.05)
        done = (last_change if stored < expected else time.perf_counter()) - started
    server_cpu = sum(server.cpu_times()[:2]) - server_cpu_before
    await asyncio.sleep(1)
    for visitor in visitors:
        await visitor.sio.disconnect()
    for agent in agents:
        await agent.close()
    return {
        "sent": expected,
        "stored": stored,
        "relayed_to_agents": relayed,
        "send_seconds": round(sent_in, 2),
        "seconds_until_all_stored": round(done, 2),
        "persisted_messages_per_second": round(stored / done, 1),
        "chat_server_cpu_share_of_one_core": round(server_cpu / done, 2),
        "load_generator": generator,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--messages", type=int, default=50, help="per visitor")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        port = free_port()
        server = start_chat_server(f"sqlite+aiosqlite:///{db}", port, Path(tmp) / "chat.log")
        try:
            result = asyncio.run(run(args, f"http://127.0.0.1:{port}", db, server.pid))
        finally:
            server.terminate()
            server.wait(30)
    print(result)
    report.write("persist_throughput", vars(args), result)


if __name__ == "__main__":
    main()
