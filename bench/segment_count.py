"""Segment counts over 1,000,000 visitors on PostgreSQL (issue 24: under 1 s each).

Creates a throwaway PostgreSQL database (tests/support/databases.py: the
server on 127.0.0.1:5432), migrates it, fills ``visitor_traits`` with N rows
(default 1,000,000) and ``visitor_tags`` with interests and goals, all with
one ``INSERT ... SELECT generate_series`` each (seeded random, so every run
has the same data), runs ANALYZE, then counts five typical segments through
SegmentService.preview_count, i.e. the same SQL compiler the API uses
(services/segments/sql.py): one warm-up and ``--runs`` timed counts each.
Reported per segment: the count, p50 and max ms, and the plan's top lines
(EXPLAIN ANALYZE). The database is dropped afterwards.

Results: bench/results/segment_count.json. Part of `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from chat_server.db.migrate import upgrade_to_head  # noqa: E402
from chat_server.services.segments import sql  # noqa: E402
from chat_server.services.segments.filter import Filter, parse_filter  # noqa: E402
from chat_server.services.segments.service import SegmentService  # noqa: E402
from tests.support.databases import PostgresDatabase  # noqa: E402

TARGET_MS = 1000


def _condition(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


SEGMENTS: dict[str, dict[str, Any]] = {
    "returning mobile visitors from the newsletter, last 7 days": {
        "conditions": [
            _condition("visits", "gte", 2),
            _condition("device", "eq", "mobile"),
            _condition("last_source", "eq", "newsletter"),
            _condition("last_seen", "within", 7),
        ]
    },
    "identified customers with a conversion": {
        "conditions": [_condition("identified", "is", True), _condition("conversions", "gte", 1)]
    },
    "interested in shoes with a budget of 100 or more": {
        "conditions": [_condition("interest", "has", "shoes"), _condition("budget", "gte", 100)]
    },
    "anonymous German-language visitors": {
        "conditions": [
            _condition("identified", "is", False),
            _condition("language", "starts_with", "de"),
        ]
    },
    "newsletter consent and an NPS of 6 or less": {
        "conditions": [_condition("consent", "is", True), _condition("nps_score", "lte", 6)]
    },
}

# One row per visitor; every column drawn from random() after setseed().
FILL_TRAITS = """
INSERT INTO visitor_traits (
  visitor_id, identified, visits, page_views, first_seen_at, last_seen_at, visit_started_at,
  first_source, first_medium, first_campaign, first_referrer,
  last_source, last_medium, last_campaign, last_referrer,
  device, language, conversions, conversion_value, csat_score, nps_score, consent, budget)
SELECT
  md5(i::text), r.identified, r.visits, r.visits * (1 + floor(random() * 6))::int,
  r.last_seen - (random() * interval '180 days'), r.last_seen, r.last_seen,
  r.first_source, CASE WHEN r.first_source IS NULL THEN NULL ELSE 'email' END, NULL,
  CASE WHEN random() < 0.4 THEN 'www.google.com' END,
  r.last_source, CASE WHEN r.last_source = 'newsletter' THEN 'email' END,
  CASE WHEN r.last_source = 'newsletter' THEN 'spring' END,
  CASE WHEN random() < 0.3 THEN 'www.google.com' END,
  (ARRAY['mobile', 'mobile', 'mobile', 'desktop', 'desktop', 'tablet'])
    [1 + floor(random() * 6)::int],
  (ARRAY['en', 'en-us', 'en-gb', 'de', 'de-de', 'fr', 'es', 'pt-br', 'nl', 'it'])
    [1 + floor(random() * 10)::int],
  r.conversions, r.conversions * round((random() * 200)::numeric, 2)::float,
  CASE WHEN random() < 0.1 THEN 1 + floor(random() * 5)::int END,
  CASE WHEN random() < 0.08 THEN floor(random() * 11)::int END,
  random() < 0.3,
  CASE WHEN random() < 0.15 THEN round((20 + random() * 480)::numeric)::float END
FROM generate_series(1, :rows) AS i,
LATERAL (SELECT
  i AS k,
  random() < 0.2 AS identified,
  1 + floor(-ln(1 - random()) * 1.5)::int AS visits,
  now() - (random() * interval '90 days') AS last_seen,
  (ARRAY['newsletter', 'google', 'google', 'facebook', NULL, NULL, NULL, NULL, NULL, NULL])
    [1 + floor(random() * 10)::int] AS first_source,
  (ARRAY['newsletter', 'google', 'facebook', 'instagram', NULL, NULL, NULL, NULL, NULL, NULL])
    [1 + floor(random() * 10)::int] AS last_source,
  CASE WHEN random() < 0.05 THEN 1 + floor(random() * 3)::int ELSE 0 END AS conversions
) AS r
"""
FILL_INTERESTS = """
INSERT INTO visitor_tags (visitor_id, kind, value)
SELECT visitor_id, 'interest',
  (ARRAY['shoes', 'tents', 'jackets', 'backpacks', 'bottles'])[1 + floor(random() * 5)::int]
FROM visitor_traits, generate_series(1, 2)
WHERE random() < 0.2
ON CONFLICT DO NOTHING
"""
FILL_GOALS = """
INSERT INTO visitor_tags (visitor_id, kind, value)
SELECT visitor_id, 'goal', (ARRAY['purchase', 'signup'])[1 + floor(random() * 2)::int]
FROM visitor_traits WHERE conversions > 0
ON CONFLICT DO NOTHING
"""


async def fill(engine: AsyncEngine, rows: int) -> dict[str, Any]:
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(text("SELECT setseed(0.24)"))
        await conn.execute(text(FILL_TRAITS), {"rows": rows})
        await conn.execute(text(FILL_INTERESTS))
        await conn.execute(text(FILL_GOALS))
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("ANALYZE visitor_traits"))
        await conn.execute(text("ANALYZE visitor_tags"))
        traits = (await conn.execute(text("SELECT count(*) FROM visitor_traits"))).scalar_one()
        tags = (await conn.execute(text("SELECT count(*) FROM visitor_tags"))).scalar_one()
    return {
        "traits_rows": traits,
        "tag_rows": tags,
        "fill_seconds": round(time.perf_counter() - started, 1),
    }


async def plan(engine: AsyncEngine, segment: Filter) -> list[str]:
    """The top lines of EXPLAIN ANALYZE of the count, values inlined."""
    statement = sql.count_query(segment, datetime.now(UTC)).compile(
        dialect=engine.sync_engine.dialect, compile_kwargs={"literal_binds": True}
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(text(f"EXPLAIN ANALYZE {statement}"))).scalars().all()
    return [str(r) for r in rows[:8]]


async def measure(url: str, rows: int, runs: int) -> dict[str, Any]:
    engine = create_async_engine(url)
    try:
        await upgrade_to_head(engine)
        seeded = await fill(engine, rows)
        print(f"filled: {seeded}")
        service = SegmentService(async_sessionmaker(engine, expire_on_commit=False))
        results = []
        for name, data in SEGMENTS.items():
            segment = parse_filter(data)
            count = await service.preview_count(segment)  # warm-up
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                assert await service.preview_count(segment) == count
                times.append((time.perf_counter() - started) * 1000)
            row = {
                "segment": name,
                "filter": segment.as_json(),
                "count": count,
                "runs": runs,
                "p50_ms": round(statistics.median(times), 1),
                "max_ms": round(max(times), 1),
                "under_target": max(times) < TARGET_MS,
                "plan": await plan(engine, segment),
            }
            print(f"{name}: {count} visitors, p50 {row['p50_ms']} ms, max {row['max_ms']} ms")
            results.append(row)
        return {"seed": seeded, "segments": results}
    finally:
        await engine.dispose()


async def main(rows: int, runs: int, write: bool = True) -> dict[str, Any]:
    async with PostgresDatabase() as url:
        measured = await measure(url, rows, runs)
    if write:
        report.write(
            "segment_count",
            {"rows": rows, "runs": runs, "target_ms": TARGET_MS},
            measured["segments"],
            seed=measured["seed"],
        )
    return measured


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.runs))
