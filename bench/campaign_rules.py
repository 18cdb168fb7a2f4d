"""Campaign rule evaluation per page view: 10,000 simulated visitors x 100 running campaigns.

What the engine does for each page view, timed as one unit: build the
PageContext (the URL split once), fetch each campaign's compiled rules from
the RuleCache (compiled once per campaign version), ``static_match`` every
campaign, and ``watch_for`` the ones that match. Two campaign sets:

- ``mixed``: what a site runs: URL globs over a few sections, some excludes,
  a few expert regexes, UTM, device, language, visit-count, recency, segment,
  business-hours and agent-capacity rules;
- ``worst``: every campaign has only URL rules that pass the literal
  prefix/suffix test for every page, so all 100 reach RE2 on every view.

Target (issue 24): <= 1 ms of server CPU per page view at 100 campaigns.
Results: bench/results/campaign_rules.json. Part of `make bench`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats import percentile  # noqa: E402
from chat_server.services.campaigns.matching import (  # noqa: E402
    PageContext,
    RuleCache,
    static_match,
    watch_for,
)
from chat_server.services.campaigns.rules import CampaignRules  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "campaign_rules.json"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SECTIONS = ["products", "category", "cart", "checkout", "blog", "help", "account", "search"]
SOURCES = ["google", "newsletter", "facebook", "bing", None, None, None]
LANGUAGES = ["en", "en-us", "de", "pt-br", "fr", "es"]


def mixed_campaign(rng: random.Random, i: int) -> dict[str, Any]:
    rules: dict[str, Any] = {}
    section = SECTIONS[i % len(SECTIONS)]
    kind = i % 10
    if kind < 6:
        rules["url_include"] = [f"/{section}/**", f"/{section}/*/reviews"][: 1 + i % 2]
    if kind in (2, 7):
        rules["url_exclude"] = ["/checkout/**", "/account/*"]
    if kind == 9:
        rules["url_regex"] = rf"/{section}/[a-z-]+-\d+(\?|$)"
    if i % 7 == 0:
        rules["utm_source"] = [rng.choice(["google", "newsletter"])]
    if i % 5 == 0:
        rules["devices"] = [rng.choice(["desktop", "mobile"])]
    if i % 6 == 0:
        rules["languages"] = ["en", "de"]
    if i % 4 == 0:
        rules["visits_min"] = 2
    if i % 8 == 0:
        rules["days_since_last_visit_max"] = 30
    if i % 11 == 0:
        rules["segment_id"] = 1 + i
    if i % 9 == 0:
        rules["business_hours_only"] = True
    if i % 13 == 0:
        rules["require_agent_capacity"] = True
    if i % 3 == 0:
        rules["active_seconds"] = 10 + i
    rules["ends_at"] = (NOW + timedelta(days=30)).isoformat()
    return rules


def worst_campaign(i: int) -> dict[str, Any]:
    # A prefix every page has and a suffix-free tail: the literal test passes, RE2 decides.
    return {"url_include": [f"/**/{SECTIONS[i % len(SECTIONS)]}-{i}", "/**"]}


def visitors(rng: random.Random, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        section = rng.choice(SECTIONS)
        slug = f"item-{rng.randrange(1000)}"
        query = rng.choice(["", "?color=red", "?utm_source=google&page=2"])
        visits = rng.choice([1, 1, 1, 2, 3, 8])
        out.append(
            {
                "url": f"https://shop.example/{section}/{slug}{query}",
                "now": NOW,
                "visits": visits,
                "returning": visits > 1,
                "days_since_last_visit": rng.uniform(0, 60) if visits > 1 else None,
                "utm_source": rng.choice(SOURCES),
                "referrer_host": rng.choice(["www.google.com", None, "news.example"]),
                "device": rng.choice(["desktop", "desktop", "mobile", "tablet"]),
                "language": rng.choice(LANGUAGES),
                "hours_open": bool(i % 3),
                "agent_capacity": bool(i % 2),
                "in_segment": bool(i % 4 == 0),
            }
        )
    return out


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 1),
        "p90": round(percentile(values, 90), 1),
        "p99": round(percentile(values, 99), 1),
        "max": round(max(values), 1),
        "mean": round(sum(values) / len(values), 1),
    }


def run(campaigns: list[dict[str, Any]], pages: list[dict[str, Any]]) -> dict[str, Any]:
    cache = RuleCache()
    started = time.perf_counter()
    parsed = [CampaignRules.model_validate(r) for r in campaigns]
    for cid, rules in enumerate(parsed):
        cache.get((cid, 1), rules)
    compile_ms = (time.perf_counter() - started) * 1000
    keys = [((cid, 1), rules) for cid, rules in enumerate(parsed)]
    timings: list[float] = []
    wall: list[float] = []
    matched = 0
    for page in pages:
        w0, t0 = time.perf_counter_ns(), time.thread_time_ns()
        ctx = PageContext(**page)
        for key, rules in keys:
            compiled = cache.get(key, rules)
            if static_match(compiled, ctx).ok:
                watch_for(compiled)
                matched += 1
        timings.append((time.thread_time_ns() - t0) / 1000)
        wall.append((time.perf_counter_ns() - w0) / 1000)
    return {
        "campaigns": len(campaigns),
        "page_views": len(pages),
        "compile_all_ms": round(compile_ms, 2),
        "matches_per_page_view": round(matched / len(pages), 2),
        # CPU time of this thread (what the target is about) ...
        "us_per_page_view": _summary(timings),
        # ... and wall time, which includes waiting for a shared core.
        "wall_us_per_page_view": _summary(wall),
        "us_per_campaign_mean": round(sum(timings) / len(timings) / len(campaigns), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=10_000)
    parser.add_argument("--campaigns", type=int, default=100)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    rng = random.Random(20261206)
    pages = visitors(rng, args.visitors)
    mixed = [mixed_campaign(rng, i) for i in range(args.campaigns)]
    worst = [worst_campaign(i) for i in range(args.campaigns)]
    run(mixed, pages[:500])  # warm-up: imports, caches, branch predictors
    result = {
        "bench": "campaign_rules",
        "what": "server CPU (thread time) per page view: PageContext + RuleCache lookup + "
        "static_match of every running campaign + watch_for of the matches",
        "target_us_per_page_view": 1000,
        "mixed": run(mixed, pages),
        "worst": run(worst, pages),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for name in ("mixed", "worst"):
        s: dict[str, Any] = result[name]  # type: ignore[assignment]
        us = s["us_per_page_view"]
        print(
            f"{name}: {s['campaigns']} campaigns x {s['page_views']} page views: "
            f"p50 {us['p50']} us, p99 {us['p99']} us, max {us['max']} us per page view"
        )


if __name__ == "__main__":
    main()
