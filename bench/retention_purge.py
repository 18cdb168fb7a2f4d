"""Retention purge cost, and what it does to concurrent message writes (SQLite).

Fills a throwaway SQLite database with ``--visitors`` visitors last seen 400
days ago, one resolved conversation each with 10 messages and 10 interaction
events, then runs ``RetentionService.purge`` (365 days) while a "live
visitor" stores a message every 10 ms. Prints the counts, the purge's
duration and the latency of the concurrent writes (what the chat path feels).

    .venv/bin/python -m bench.retention_purge --visitors 5000 --batch 500
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert

from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.migrate import upgrade_to_head
from chat_server.db.models import Conversation, InteractionEvent, Message, Visitor, utcnow
from chat_server.services.privacy import PrivacyService
from chat_server.services.retention import RetentionService


async def main(visitors: int, batch: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'purge.db'}")
        await upgrade_to_head(engine)
        sessions = create_sessionmaker(engine)
        old = utcnow() - timedelta(days=400)
        n = visitors
        async with sessions.begin() as s:
            await s.execute(
                insert(Visitor),
                [
                    {"id": f"v{i}", "profile": {}, "created_at": old, "last_seen_at": old}
                    for i in range(n)
                ],
            )
            await s.execute(
                insert(Conversation),
                [
                    {
                        "id": i + 1,
                        "visitor_id": f"v{i}",
                        "state": "resolved",
                        "created_at": old,
                        "updated_at": old,
                    }
                    for i in range(n)
                ],
            )
            await s.execute(
                insert(Message),
                [
                    {
                        "conversation_id": i // 10 + 1,
                        "visitor_id": f"v{i // 10}",
                        "direction": "visitor",
                        "text": "hello there",
                        "created_at": old,
                    }
                    for i in range(n * 10)
                ],
            )
            await s.execute(
                insert(InteractionEvent),
                [
                    {"type": "x", "visitor_id": f"v{i // 10}", "data": {}, "created_at": old}
                    for i in range(n * 10)
                ],
            )
        live = n + 10
        async with sessions.begin() as s:
            s.add(Visitor(id="live", profile={}))
            s.add(Conversation(id=live, visitor_id="live", state="bot"))
        retention = RetentionService(sessions, PrivacyService(sessions), 365, 6, batch)
        latencies: list[float] = []
        done = False

        async def chat() -> None:
            while not done:
                started = time.perf_counter()
                async with sessions.begin() as s:
                    s.add(
                        Message(
                            conversation_id=live, visitor_id="live", direction="visitor", text="hi"
                        )
                    )
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(0.01)

        writer = asyncio.create_task(chat())
        await asyncio.sleep(0.3)
        started = time.perf_counter()
        counts = await retention.purge()
        took = time.perf_counter() - started
        done = True
        await writer
        await engine.dispose()
    latencies.sort()
    ms = [x * 1000 for x in latencies]
    print(counts)
    print(
        f"purge {took:.1f} s (batch {batch}); {len(ms)} concurrent message writes: "
        f"p50 {ms[len(ms) // 2]:.1f} ms, p99 {ms[int(len(ms) * 0.99)]:.1f} ms, "
        f"max {ms[-1]:.1f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--visitors", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.visitors, args.batch))
