"""Reply latency against a visitor's lifetime history (issue: memory that never slows the bot).

1. Starts the real stack on a throwaway database (SQLite by default,
   ``--database postgres`` for a fresh PostgreSQL database).
2. Seeds 10,000 other visitors with 1,000,000 messages (and as many Rasa
   tracker events), as a busy production database would hold.
3. Builds one loyal visitor with 1,000 messages over 50 sessions, through the
   real chat server; sessions end as they do in production, with Rasa's
   ``action_session_start`` (slots carried over).
4. Measures reply latency for that visitor's next turns and for a brand-new
   visitor's turns, interleaved in the same run, and prints p50/p90, the
   ratio, and p50 per history bucket (latency vs history length).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.stats import percentile  # noqa: E402
from dev.devstack import Stack, StackConfig, free_port  # noqa: E402
from tests.conftest import trained_model  # noqa: E402
from tests.support.databases import PostgresDatabase  # noqa: E402
from tests.support.limits import GENEROUS_LIMITS_ENV  # noqa: E402
from tests.support.rasa_sessions import start_new_session  # noqa: E402
from tests.support.visitor import Visitor  # noqa: E402

SCRIPT = [
    "hi",
    "show me tents",
    "what about backpacks",
    "how much is shipping",
    "thanks",
    "what is your return policy",
    "any promotions right now?",
    "do you have hiking boots",
    "great, thank you",
    "bye",
]


def seed_rows(visitors: int, per_visitor: int):  # type: ignore[no-untyped-def]
    """Rows for the other visitors: visitors, conversations, messages, tracker events."""
    now = time.time()
    for v in range(visitors):
        vid = uuid.uuid4().hex
        yield "visitor", (vid,)
        yield "conversation", (v + 1, vid)
        for m in range(per_visitor):
            direction = "visitor" if m % 2 == 0 else "bot"
            yield "message", (v + 1, vid, direction, f"message {m} of {v}")
            event = {
                "event": "user" if m % 2 == 0 else "bot",
                "text": f"message {m}",
                "timestamp": now,
            }
            yield "event", (vid, event["event"], now - 86400 + m, json.dumps(event))


SQL = {
    "visitor": "INSERT INTO visitors (id, created_at, last_seen_at, profile) "
    "VALUES ({p}, {now}, {now}, '{{}}')",
    "conversation": "INSERT INTO conversations (id, visitor_id, state, created_at, updated_at) "
    "VALUES ({p}, {p}, 'bot', {now}, {now})",
    "message": "INSERT INTO messages (conversation_id, visitor_id, direction, text, created_at) "
    "VALUES ({p}, {p}, {p}, {p}, {now})",
    "event": "INSERT INTO events (sender_id, type_name, timestamp, data) "
    "VALUES ({p}, {p}, {p}, {p})",
}


def seed_sqlite(path: str, visitors: int, per_visitor: int) -> None:
    conn = sqlite3.connect(path, timeout=60)
    batches: dict[str, list[tuple[Any, ...]]] = {k: [] for k in SQL}
    sql = {k: v.format(p="?", now="CURRENT_TIMESTAMP") for k, v in SQL.items()}

    def flush() -> None:
        for kind in ("visitor", "conversation", "message", "event"):
            conn.executemany(sql[kind], batches[kind])
            batches[kind].clear()
        conn.commit()

    for i, (kind, row) in enumerate(seed_rows(visitors, per_visitor)):
        batches[kind].append(row)
        if i % 200_000 == 0:
            flush()
    flush()
    conn.close()


async def seed_postgres(url: str, visitors: int, per_visitor: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    rows: dict[str, list[tuple[Any, ...]]] = {k: [] for k in SQL}
    for kind, row in seed_rows(visitors, per_visitor):
        rows[kind].append(row)
    now = datetime.now(UTC)
    await conn.copy_records_to_table(
        "visitors",
        records=[(r[0], "{}", now, now) for r in rows["visitor"]],
        columns=["id", "profile", "created_at", "last_seen_at"],
    )
    await conn.copy_records_to_table(
        "conversations",
        records=[(r[0], r[1], "bot", now, now) for r in rows["conversation"]],
        columns=["id", "visitor_id", "state", "created_at", "updated_at"],
    )
    await conn.copy_records_to_table(
        "messages",
        records=[(*r, now) for r in rows["message"]],
        columns=["conversation_id", "visitor_id", "direction", "text", "created_at"],
    )
    await conn.copy_records_to_table(
        "events", records=rows["event"], columns=["sender_id", "type_name", "timestamp", "data"]
    )
    await conn.execute("SELECT setval('conversations_id_seq', (SELECT max(id) FROM conversations))")
    await conn.execute("ANALYZE")
    await conn.close()


async def turn(visitor: Visitor, text: str) -> float:
    started = time.perf_counter()
    await visitor.say(text, quiet=0.15, timeout=60)
    return (visitor.last_event_at - started) * 1000  # until the turn's last reply


async def tracker_sizes(database_url: str, loyal_id: str, fresh_id: str) -> dict[str, int]:
    """Largest tracker Rasa worked on per turn (logged by the chat server), per visitor."""
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from chat_server.db.models import InteractionEvent

    engine = create_async_engine(database_url)
    sizes: dict[str, int] = {}
    async with engine.connect() as conn:
        for name, vid in (("loyal", loyal_id), ("new", fresh_id)):
            rows = (
                (
                    await conn.execute(
                        select(InteractionEvent.data)
                        .where(
                            InteractionEvent.visitor_id == vid,
                            InteractionEvent.type == "bot_replied",
                        )
                        .order_by(InteractionEvent.id.desc())
                        .limit(40)
                    )
                )
                .scalars()
                .all()
            )
            sizes[name] = max((r.get("tracker_events") or 0) for r in rows)
    await engine.dispose()
    return sizes


async def run(stack: Stack, sessions: int, per_session: int, measured: int) -> dict[str, Any]:
    loyal = Visitor()
    await loyal.connect(stack.base_url)
    build: list[tuple[int, float]] = []
    async with aiohttp.ClientSession() as http:
        for s in range(sessions):
            if s:
                await start_new_session(http, stack, loyal.visitor_id)
            for _ in range(per_session):
                n = len(build)
                build.append((n, await turn(loyal, SCRIPT[n % len(SCRIPT)])))
        await start_new_session(http, stack, loyal.visitor_id)
        fresh = Visitor()
        await fresh.connect(stack.base_url)
        loyal_lat, fresh_lat = [], []
        for i in range(measured):  # interleaved, so both see the same machine state
            text = SCRIPT[i % len(SCRIPT)]
            loyal_lat.append(await turn(loyal, text))
            fresh_lat.append(await turn(fresh, text))
    await loyal.close()
    await fresh.close()
    loaded = await tracker_sizes(stack.config.database_url, loyal.visitor_id, fresh.visitor_id)
    buckets: dict[int, list[float]] = {}
    for n, ms in build:
        buckets.setdefault(n // 100 * 100, []).append(ms)
    return {
        "loyal": loyal_lat,
        "fresh": fresh_lat,
        "loaded_events": loaded,
        "build_p50_by_history": {
            k: round(statistics.median(v), 1) for k, v in sorted(buckets.items())
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--other-visitors", type=int, default=10_000)
    parser.add_argument("--messages-per-other", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--per-session", type=int, default=20)
    parser.add_argument("--measured", type=int, default=40)
    args = parser.parse_args()

    async def with_database(tmp: Path) -> dict[str, Any]:
        if args.database == "postgres":
            async with PostgresDatabase() as url:
                return await measure(tmp, url)
        return await measure(tmp, f"sqlite+aiosqlite:///{tmp}/bench.db")

    async def measure(tmp: Path, url: str) -> dict[str, Any]:
        stack = Stack(
            StackConfig(
                model=trained_model(),
                database_url=url,
                log_dir=tmp / "log",
                chat_port=free_port(),
                rasa_port=free_port(),
                action_port=free_port(),
                extra_env=GENEROUS_LIMITS_ENV,
            )
        )
        try:
            await asyncio.to_thread(stack.start)
            t = time.perf_counter()
            if args.database == "postgres":
                await seed_postgres(url, args.other_visitors, args.messages_per_other)
            else:
                await asyncio.to_thread(
                    seed_sqlite,
                    url.split(":///", 1)[1],
                    args.other_visitors,
                    args.messages_per_other,
                )
            print(
                f"seeded {args.other_visitors * args.messages_per_other:,} messages and tracker "
                f"events in {time.perf_counter() - t:.0f}s",
                flush=True,
            )
            return await run(stack, args.sessions, args.per_session, args.measured)
        finally:
            await asyncio.to_thread(stack.stop)

    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(with_database(Path(tmp)))
    loyal, fresh = result["loyal"], result["fresh"]
    history = args.sessions * args.per_session
    print(f"database: {args.database}")
    print(
        f"loyal visitor ({history} earlier messages, {args.sessions} sessions): "
        f"p50 {percentile(loyal, 50):.1f} ms, p90 {percentile(loyal, 90):.1f} ms"
    )
    print(f"new visitor: p50 {percentile(fresh, 50):.1f} ms, p90 {percentile(fresh, 90):.1f} ms")
    print(f"ratio loyal/new p50: {percentile(loyal, 50) / percentile(fresh, 50):.2f}x")
    loaded = result["loaded_events"]
    print(
        f"largest tracker Rasa loaded per measured turn: loyal {loaded['loyal']} "
        f"events, new {loaded['new']} events"
    )
    print("p50 by history length while building (messages so far -> ms):")
    for bucket, p50 in result["build_p50_by_history"].items():
        print(f"  {bucket:5d}-{bucket + 99:<5d} {p50:7.1f} ms  {'#' * int(p50 / 5)}")
    summary = {
        "loyal_p50_ms": round(percentile(loyal, 50), 1),
        "loyal_p90_ms": round(percentile(loyal, 90), 1),
        "new_p50_ms": round(percentile(fresh, 50), 1),
        "new_p90_ms": round(percentile(fresh, 90), 1),
        "ratio_loyal_new_p50": round(percentile(loyal, 50) / percentile(fresh, 50), 2),
        "lifetime_messages": history,
        "sessions": args.sessions,
        "loaded_events": loaded,
        "build_p50_ms_by_history": result["build_p50_by_history"],
    }
    report.write(f"memory_latency_{args.database}", vars(args), summary)
    buckets = result["build_p50_by_history"]

    def draw(ax: Any) -> None:
        ax.plot(
            list(buckets),
            list(buckets.values()),
            marker="o",
            label="loyal visitor, per 100 messages",
        )
        ax.axhline(percentile(fresh, 50), linestyle="--", color="grey", label="new visitor p50")
        ax.set_xlabel(f"lifetime messages so far ({args.sessions} sessions)")
        ax.set_ylabel("reply p50 (ms)")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)

    report.plot(
        f"memory_latency_{args.database}",
        draw,
        "Reply latency vs lifetime history (through the chat server)",
    )


if __name__ == "__main__":
    main()
