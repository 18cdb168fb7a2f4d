"""Sustained persisted messages per second of one chat-server process (human path).

For each database (SQLite, PostgreSQL), each number of concurrent writers
(``--visitors``, e.g. 200 and 1,000) and group commit on and off
(GROUP_COMMIT_MAX_BATCH 256 and 1), one run: a chat server (no Rasa: every
visitor is with a person) on a throwaway database, ``--agents`` agents online
and the visitors each handed to one of them. Then every visitor sends
``--messages`` messages back to back, as fast as the socket takes them. A
message counts when it is stored (persist before relay); the rate is stored
messages over the time from the first send to the last one stored, polled
from the database. How many reached an agent is reported too, and from the
server's /metrics: the share of messages committed within 20 ms of being
handed over, the p99 commit latency (the bucket it falls in) and the mean
messages per commit.

    .venv/bin/python bench/persist_throughput.py [--visitors 200,1000] [--messages 20]
        [--database sqlite,postgres] [--batch 256,1]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.handoff_latency import ADMIN_TOKEN, BenchVisitor, start_chat_server  # noqa: E402
from dev.devstack import free_port  # noqa: E402
from tests.support.agents import AgentClient, create_agent  # noqa: E402
from tests.support.databases import PostgresDatabase  # noqa: E402

COMMITTED_WITHIN = 0.02  # seconds: the target's p99 commit latency


async def stored_visitor_messages(db: AsyncEngine) -> int:
    async with db.connect() as conn:
        found = await conn.scalar(text("SELECT count(*) FROM messages WHERE direction = 'visitor'"))
        return int(found or 0)


async def commit_histograms(http: aiohttp.ClientSession, base_url: str) -> dict[str, Any]:
    """Group commit's histograms from /metrics, raw: latency buckets and count, batch sizes."""
    async with http.get(
        f"{base_url}/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ) as r:
        body = await r.text()
    raw: dict[str, Any] = {"buckets": {}, "count": 0.0, "batch_sum": 0.0, "batch_count": 0.0}
    for line in body.splitlines():
        if not line.startswith("rapport_group_commit_"):
            continue
        value = float(line.rsplit(" ", 1)[1])
        if line.startswith("rapport_group_commit_seconds_bucket"):
            raw["buckets"][float(line.split('le="')[1].split('"')[0])] = value
        elif line.startswith("rapport_group_commit_seconds_count"):
            raw["count"] = value
        elif line.startswith("rapport_group_commit_batch_size_sum"):
            raw["batch_sum"] = value
        elif line.startswith("rapport_group_commit_batch_size_count"):
            raw["batch_count"] = value
    return raw


def commit_figures(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Latency share within 20 ms, the p99 bucket and the mean batch, of the
    commits between two readings (the set-up's handoffs left out)."""
    count = after["count"] - before["count"]
    buckets = sorted(
        (bound, n - before["buckets"].get(bound, 0.0)) for bound, n in after["buckets"].items()
    )
    within = next((n for bound, n in buckets if bound == COMMITTED_WITHIN), 0.0)
    p99 = next((bound for bound, n in buckets if count and n >= 0.99 * count), None)
    batches = after["batch_count"] - before["batch_count"]
    return {
        "committed_within_20ms": round(within / count, 4) if count else None,
        "p99_commit_seconds_at_most": p99,
        "messages_per_commit": (
            round((after["batch_sum"] - before["batch_sum"]) / batches, 1) if batches else None
        ),
    }


async def run(
    args: argparse.Namespace, visitors_n: int, base_url: str, db: AsyncEngine, pid: int
) -> dict[str, Any]:
    agents: list[AgentClient] = []
    async with aiohttp.ClientSession() as http:
        for i in range(args.agents):
            data = await create_agent(
                http,
                base_url,
                ADMIN_TOKEN,
                name=f"Agent{i}",
                max_chats=max(1, -(-visitors_n // args.agents)),
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

    visitors = [BenchVisitor({}) for _ in range(visitors_n)]
    for start in range(0, len(visitors), 50):
        await asyncio.gather(*(v.connect(base_url) for v in visitors[start : start + 50]))
    for start in range(0, len(visitors), 20):
        await asyncio.gather(*(v.say("hello, I need help") for v in visitors[start : start + 20]))
    # Handing 1,000 visitors over (no Rasa: each turn finds it down) takes minutes.
    await asyncio.wait_for(asyncio.gather(*(v.assigned.wait() for v in visitors)), 60 + visitors_n)
    baseline = await stored_visitor_messages(db)
    async with aiohttp.ClientSession() as http:
        before = await commit_histograms(http, base_url)
    expected = visitors_n * args.messages
    server = psutil.Process(pid)
    server_cpu_before = sum(server.cpu_times()[:2])

    # --rate: the visitors together offer that many messages a second, evenly
    # spread (a sustainable load shows one commit's latency, not a queue's).
    gap = visitors_n / args.rate if args.rate else 0.0

    async def blast(index: int, visitor: BenchVisitor) -> None:
        if gap:
            await asyncio.sleep(gap * index / visitors_n)
        for n in range(args.messages):
            await visitor.say(f"p-{index}-{n}")
            if gap:
                await asyncio.sleep(gap)

    flame = getattr(args, "flame", "")  # the smoke test builds its own args
    sampled = report.flame_graph(pid if flame else None, flame)
    with report.own_cpu() as generator, sampled:
        started = time.perf_counter()
        await asyncio.gather(*(blast(i, v) for i, v in enumerate(visitors)))
        sent_in = time.perf_counter() - started
        stored, last_change, previous = 0, time.perf_counter(), -1
        while time.perf_counter() - last_change < 3:  # until nothing new for 3 s
            stored = await stored_visitor_messages(db) - baseline
            if stored != previous:
                previous, last_change = stored, time.perf_counter()
            if stored >= expected:
                break
            await asyncio.sleep(0.05)
        done = (last_change if stored < expected else time.perf_counter()) - started
    server_cpu = sum(server.cpu_times()[:2]) - server_cpu_before
    async with aiohttp.ClientSession() as http:
        commits = commit_figures(before, await commit_histograms(http, base_url))
    await asyncio.sleep(1)
    for visitor in visitors:
        await visitor.sio.disconnect()
    for agent in agents:
        await agent.close()
    return {
        **commits,
        "sent": expected,
        "stored": stored,
        "relayed_to_agents": relayed,
        "send_seconds": round(sent_in, 2),
        "seconds_until_all_stored": round(done, 2),
        "persisted_messages_per_second": round(stored / done, 1),
        "chat_server_cpu_share_of_one_core": round(server_cpu / done, 2),
        "load_generator": generator,
    }


async def one(
    args: argparse.Namespace, database: str, visitors_n: int, batch: int
) -> dict[str, Any]:
    async with AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if database == "postgres":
            url = await stack.enter_async_context(PostgresDatabase())
        else:
            url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        port = free_port()
        server = start_chat_server(
            url, port, tmp / "chat.log", {"GROUP_COMMIT_MAX_BATCH": str(batch)}
        )
        db = create_async_engine(url)
        try:
            result = await run(args, visitors_n, f"http://127.0.0.1:{port}", db, server.pid)
        finally:
            await db.dispose()
            server.terminate()
            server.wait(30)
    figures = {
        "database": database,
        "visitors": visitors_n,
        "group_commit_max_batch": batch,
        "offered_per_second": args.rate or "all at once",
    }
    return {**figures, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visitors", default="200,1000", help="comma-separated writer counts")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--messages", type=int, default=20, help="per visitor")
    parser.add_argument("--database", default="sqlite,postgres")
    parser.add_argument("--batch", default="256,1", help="GROUP_COMMIT_MAX_BATCH values")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="messages/s offered in all (0: all at once)"
    )
    parser.add_argument("--out", default="persist_throughput", help="results file name")
    parser.add_argument(
        "--flame",
        default="",
        help="py-spy profile of the server while sending (bench/results/NAME.svg; NAME.txt: raw)",
    )
    args = parser.parse_args()
    runs = []
    for database in args.database.split(","):
        for visitors_n in (int(v) for v in args.visitors.split(",")):
            for batch in (int(b) for b in args.batch.split(",")):
                result = asyncio.run(one(args, database, visitors_n, batch))
                print(result, flush=True)
                runs.append(result)
    report.write(args.out, vars(args), runs)


if __name__ == "__main__":
    main()
