"""Dashboard query times on a large event log (PostgreSQL), with their plans.

Seeds a throwaway PostgreSQL database with N events (default 5,000,000; see
bench/analytics_seed.py), builds the hourly rollups (timed), starts the chat
server in-process on it, and times every dashboard request (the summary and
each breakdown table) for the last 7 and the last 30 days: first from the raw
log ("before": rollups switched off, ``--before-repeat`` runs each), then with
the rollups (``--repeat`` runs each); best, median and p95 (nearest rank) are
reported, and whether both answers were the same. Every SQL statement the
rollup-backed requests ran is then explained (EXPLAIN ANALYZE) and the plan's
top line and whether it reads an index are recorded. Target (issue 26 §3):
each dashboard request under 300 ms at p95.

Results: bench/results/analytics_queries.json. Needs the PostgreSQL server of
tests/support/databases.py. Part of `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.analytics_seed import seed  # noqa: E402
from chat_server.app import create_app  # noqa: E402
from chat_server.db.engine import create_sessionmaker  # noqa: E402
from chat_server.db.migrate import upgrade_to_head  # noqa: E402
from chat_server.gc_tuning import tune_for_serving  # noqa: E402
from chat_server.http.keys import ENGINE, SERVICES  # noqa: E402
from chat_server.services.analytics.rollups import Rollups  # noqa: E402
from chat_server.settings import Settings  # noqa: E402
from dev.devstack import free_port  # noqa: E402
from tests.support.databases import PostgresDatabase  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "analytics_queries.json"
TOKEN = "bench-operator-token-0123456789"
TABLES = [
    "handoff_reasons",
    "intents",
    "unrecognised",
    "agents",
    "csat",
    "products",
    "categories",
    "utm_sources",
    "pages",
    "series",
    "funnel",
]
TARGET_MS = 300


async def timed_get(http: aiohttp.ClientSession, url: str) -> tuple[float, int, Any]:
    started = time.perf_counter()
    async with http.get(url, headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
        body = await resp.json()
        return (time.perf_counter() - started) * 1000, resp.status, body


def p95(times: list[float]) -> float:
    """The nearest-rank 95th percentile."""
    ordered = sorted(times)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _comparable(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if k != "generated_at"}
    return body


async def measure(
    base: str, days: int, repeat: int, now: datetime
) -> tuple[list[dict[str, Any]], list[Any]]:
    """Timings of every request for the last ``days`` before ``now``, and the answers."""
    query = f"from={(now - timedelta(days=days)).isoformat()}&to={now.isoformat()}"
    query = query.replace("+", "%2B")
    paths = ["/api/analytics/summary"] + [f"/api/analytics/tables/{t}" for t in TABLES]
    rows, answers = [], []
    async with aiohttp.ClientSession() as http:
        for path in paths:
            times, status, body = [], 0, None
            for _ in range(repeat):
                ms, status, body = await timed_get(http, f"{base}{path}?{query}")
                times.append(ms)
            answers.append(_comparable(body))
            rows.append(
                {
                    "request": path,
                    "days": days,
                    "status": status,
                    "runs": repeat,
                    "best_ms": round(min(times), 1),
                    "median_ms": round(statistics.median(times), 1),
                    "p95_ms": round(p95(times), 1),
                }
            )
    return rows, answers


async def explain(url: str, statements: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    engine = create_async_engine(url)
    plans = []
    try:
        async with engine.connect() as conn:
            for statement, params in statements:
                result = await conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, FORMAT TEXT) " + statement, params
                )
                lines = [row[0] for row in result.all()]
                plans.append(
                    {
                        "sql": " ".join(statement.split())[:300],
                        "plan_top": lines[0].strip(),
                        "uses_index": any("Index" in line for line in lines),
                        "seq_scan_on_events": any(
                            "Seq Scan on interaction_events" in line for line in lines
                        ),
                        "execution": next(
                            (line.strip() for line in lines if "Execution Time" in line), ""
                        ),
                    }
                )
    finally:
        await engine.dispose()
    return plans


async def _seeded(engine: Any, events: int) -> int | None:
    """The visitors of a database this benchmark seeded before, or None."""
    async with engine.connect() as conn:
        if not await conn.scalar(text("SELECT EXISTS (SELECT 1 FROM interaction_events)")):
            return None
        return int(await conn.scalar(text("SELECT count(*) FROM visitors")) or 0)


async def run(
    events: int, repeat: int, before_repeat: int, keep: str | None = None
) -> dict[str, Any]:
    async with PostgresDatabase(keep) as url:
        engine = create_async_engine(url)
        await upgrade_to_head(engine)
        started = time.perf_counter()
        visitors = await _seeded(engine, events) if keep else None
        if visitors is None:
            visitors = await seed(engine, events)
        seed_seconds = time.perf_counter() - started
        started = time.perf_counter()
        await Rollups(create_sessionmaker(engine)).catch_up()
        rollup_seconds = time.perf_counter() - started
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            # What autovacuum does after the bulk build: without statistics
            # the planner takes the new table for a small one.
            for table in (
                "analytics_rollups",
                "analytics_reach",
                "analytics_reach_hours",
                "analytics_daily",
                "analytics_conversation_flags",
            ):
                await conn.execute(text(f"VACUUM ANALYZE {table}"))
        await engine.dispose()

        settings = Settings(
            database_url=url,
            admin_token=SecretStr(TOKEN),
            secret_key=SecretStr("bench-secret-key-0123456789"),
            rasa_url=f"http://127.0.0.1:{free_port()}",
            action_server_url=f"http://127.0.0.1:{free_port()}",
        )
        app = create_app(settings)
        server = TestServer(app, host="127.0.0.1", port=free_port())
        await server.start_server()
        # The collector as the real server sets it once listening (python -m
        # chat_server), so the timings are what that server would show.
        tune_for_serving()
        statements: list[tuple[str, Any]] = []
        now = datetime.now(UTC)
        try:

            def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
                if (
                    "interaction_events" in statement or "analytics_rollups" in statement
                ) and statement.lstrip().upper().startswith("SELECT"):
                    statements.append((statement, params))

            base = str(server.make_url("")).rstrip("/")
            analytics = app[SERVICES].analytics
            rollups, analytics.rollups = analytics.rollups, None
            before, raw_answers = [], []
            if before_repeat:
                for days in (7, 30):
                    timed, answers = await measure(base, days, before_repeat, now)
                    before += timed
                    raw_answers += answers
            analytics.rollups = rollups
            event.listen(app[ENGINE].sync_engine, "before_cursor_execute", record)
            timings, rolled_answers = [], []
            for days in (7, 30):
                timed, answers = await measure(base, days, repeat, now)
                timings += timed
                rolled_answers += answers
        finally:
            await server.close()
        unique = list({s: (s, p) for s, p in statements}.values())
        plans = await explain(url, unique)
    for i, row in enumerate(timings):
        if before:
            row["before_median_ms"] = before[i]["median_ms"]
            row["before_p95_ms"] = before[i]["p95_ms"]
            row["same_as_raw"] = rolled_answers[i] == raw_answers[i]
    slowest = max(t["p95_ms"] for t in timings)
    return {
        "benchmark": "analytics_queries",
        "database": "postgresql",
        "events": events,
        "visitors": visitors,
        "seed_seconds": round(seed_seconds, 1),
        "rollup_build_seconds": round(rollup_seconds, 1),
        # A kept database was seeded and built by an earlier run: then the two
        # figures above are only this run's check and catch-up.
        "kept_database": keep,
        "target_ms": TARGET_MS,
        "slowest_p95_ms": slowest,
        "slowest_before_p95_ms": max((t["p95_ms"] for t in before), default=None),
        "all_under_target": slowest < TARGET_MS,
        "all_same_as_raw": all(t.get("same_as_raw", True) for t in timings),
        "requests": timings,
        "plans": plans,
    }


def draw(result: dict[str, Any]) -> None:
    """p95 of every request, raw log and rollups, against the target (log scale)."""
    rows = result["requests"]
    labels = [f"{r['request'].rsplit('/', 1)[-1]} {r['days']} d" for r in rows]

    def bars(ax: Any) -> None:
        ys = list(range(len(rows)))
        if all("before_p95_ms" in r for r in rows):
            raw = [r["before_p95_ms"] for r in rows]
            ax.barh([y + 0.2 for y in ys], raw, height=0.4, label="raw log", color="#bbbbbb")
        ax.barh([y - 0.2 for y in ys], [r["p95_ms"] for r in rows], height=0.4, label="rollups")
        ax.axvline(TARGET_MS, color="red", linestyle="--", label=f"target {TARGET_MS} ms")
        ax.set_yticks(ys, labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("p95 (ms, log scale)")
        ax.legend(fontsize=8)

    report.plot(
        "analytics_queries",
        bars,
        f"Dashboard requests on {result['events']:,} events (PostgreSQL)",
        size=(8, 7),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--before-repeat", type=int, default=3, help="0: skip the raw log's")
    parser.add_argument("--plot-only", action="store_true", help="redraw from the last results")
    parser.add_argument(
        "--keep-database",
        metavar="NAME",
        help="seed (once) and keep this database instead of a throwaway one, to rerun quickly",
    )
    args = parser.parse_args()
    if args.plot_only:
        draw(json.loads(RESULTS.read_text()))
        return
    result = asyncio.run(run(args.events, args.repeat, args.before_repeat, args.keep_database))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    draw(result)
    for row in result["requests"]:
        print(
            f"{row['request']:40} {row['days']:>3} d  p95 {row['p95_ms']:8.1f} ms"
            f"  median {row['median_ms']:8.1f} ms  before p95 {row.get('before_p95_ms')}"
            f"  same {row.get('same_as_raw')}  HTTP {row['status']}"
        )
    print(
        f"slowest p95 {result['slowest_p95_ms']} ms (target < {TARGET_MS} ms); "
        f"rollups built in {result['rollup_build_seconds']} s; "
        f"{sum(p['seq_scan_on_events'] for p in result['plans'])} of "
        f"{len(result['plans'])} statements scan interaction_events sequentially"
    )


if __name__ == "__main__":
    main()
