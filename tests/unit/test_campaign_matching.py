"""The campaign rule-matching table: each rule and its edge (services/campaigns/matching.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from chat_server.services.campaigns.matching import (
    PageContext,
    RuleCache,
    compile_rules,
    static_match,
    watch_for,
)
from chat_server.services.campaigns.rules import CampaignRules

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SHOP = "https://Shop.Example/products/shoes?color=red#reviews"

# (name, rules, context overrides, expected reason ("" = match))
ROWS: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("no rules match everything", {}, {}, ""),
    # -- URL globs -----------------------------------------------------------
    ("glob star within a segment", {"url_include": ["/products/*"]}, {}, ""),
    (
        "glob star stops at /",
        {"url_include": ["/products/*"]},
        {"url": "https://shop.example/products/shoes/red"},
        "url_include",
    ),
    (
        "glob double star crosses /",
        {"url_include": ["/products/**"]},
        {"url": "https://shop.example/products/shoes/red"},
        "",
    ),
    (
        "glob star matches empty",
        {"url_include": ["/products/*"]},
        {"url": "https://shop.example/products/"},
        "",
    ),
    ("glob literal equal", {"url_include": ["/products/shoes"]}, {}, ""),
    (
        "glob literal is exact (trailing slash differs)",
        {"url_include": ["/products/shoes/"]},
        {},
        "url_include",
    ),
    (
        "glob path ignores the query",
        {"url_include": ["/products/shoes"]},
        {"url": "https://shop.example/products/shoes?x=1"},
        "",
    ),
    (
        "glob with ? matches path and query",
        {"url_include": ["/search?q=*"]},
        {"url": "https://shop.example/search?q=boots"},
        "",
    ),
    (
        "glob with ? needs the query",
        {"url_include": ["/search?q=*"]},
        {"url": "https://shop.example/search"},
        "url_include",
    ),
    ("glob paths are case-sensitive", {"url_include": ["/Products/*"]}, {}, "url_include"),
    (
        "glob braces pick either",
        {"url_include": ["/{cart,checkout}/**"]},
        {"url": "https://shop.example/checkout/step/2"},
        "",
    ),
    (
        "glob braces refuse others",
        {"url_include": ["/{cart,checkout}/**"]},
        {"url": "https://shop.example/account/x"},
        "url_include",
    ),
    (
        "glob full URL, host case-insensitive",
        {"url_include": ["https://shop.example/products/*"]},
        {},
        "",
    ),
    (
        "glob full URL, other host",
        {"url_include": ["https://other.example/products/*"]},
        {},
        "url_include",
    ),
    (
        "glob full URL any scheme",
        {"url_include": ["*://shop.example/**"]},
        {"url": "http://shop.example/a/b"},
        "",
    ),
    ("any of several includes", {"url_include": ["/cart", "/products/*"]}, {}, ""),
    (
        "include and exclude: exclude wins",
        {"url_include": ["/products/**"], "url_exclude": ["/products/shoes"]},
        {},
        "url_exclude",
    ),
    (
        "include and exclude: other page passes",
        {"url_include": ["/products/**"], "url_exclude": ["/products/hats"]},
        {},
        "",
    ),
    (
        "exclude alone",
        {"url_exclude": ["/checkout/**"]},
        {"url": "https://shop.example/checkout/pay"},
        "url_exclude",
    ),
    (
        "fragment never matters",
        {"url_include": ["/products/shoes"]},
        {"url": "https://shop.example/products/shoes#top"},
        "",
    ),
    (
        "an over-long URL never matches a URL rule",
        {"url_include": ["/**"]},
        {"url": "https://shop.example/" + "a" * 5000},
        "url_include",
    ),
    # -- URL regex (RE2) -------------------------------------------------------
    ("regex searches the whole URL", {"url_regex": r"/products/\w+\?color=red"}, {}, ""),
    ("regex miss", {"url_regex": r"^https://shop\.example/cart"}, {}, "url_regex"),
    (
        "regex and glob both needed",
        {"url_include": ["/products/*"], "url_regex": "color=blue"},
        {},
        "url_regex",
    ),
    (
        "catastrophic pattern is linear in RE2",
        {"url_regex": r"(a+)+$"},
        {"url": "https://shop.example/" + "a" * 3000 + "!"},
        "url_regex",
    ),
    # -- dates and time zones ----------------------------------------------------
    ("before start", {"starts_at": "2026-12-06T13:00:00Z"}, {}, "starts_at"),
    ("at start", {"starts_at": "2026-12-06T12:00:00Z"}, {}, ""),
    (
        "start in another zone is the same instant",
        {"starts_at": "2026-12-06T13:00:00+01:00"},
        {},
        "",
    ),
    (
        "start in another zone, a minute later",
        {"starts_at": "2026-12-06T13:01:00+01:00"},
        {},
        "starts_at",
    ),
    ("naive start means UTC", {"starts_at": "2026-12-06T12:30:00"}, {}, "starts_at"),
    ("end is exclusive", {"ends_at": "2026-12-06T12:00:00Z"}, {}, "ends_at"),
    ("before end", {"ends_at": "2026-12-06T12:00:01Z"}, {}, ""),
    (
        "now in a zone compared by instant",
        {"ends_at": "2026-12-06T12:30:00Z"},
        {"now": datetime(2026, 12, 6, 7, 29, tzinfo=timezone(timedelta(hours=-5)))},
        "",
    ),
    (
        "naive now means UTC",
        {"ends_at": "2026-12-06T12:30:00Z"},
        {"now": datetime(2026, 12, 6, 12, 31)},
        "ends_at",
    ),
    # -- visits, new vs returning, recency -----------------------------------------
    ("visits min edge", {"visits_min": 3}, {"visits": 3, "returning": True}, ""),
    ("visits below min", {"visits_min": 3}, {"visits": 2, "returning": True}, "visits_min"),
    ("visits max edge", {"visits_max": 3}, {"visits": 3}, ""),
    ("visits over max", {"visits_max": 3}, {"visits": 4}, "visits_max"),
    ("new visitor wanted", {"visitor": "new"}, {"returning": True, "visits": 2}, "visitor"),
    ("new visitor ok", {"visitor": "new"}, {}, ""),
    ("returning wanted", {"visitor": "returning"}, {}, "visitor"),
    ("returning ok", {"visitor": "returning"}, {"returning": True, "visits": 2}, ""),
    (
        "days since last visit min edge",
        {"days_since_last_visit_min": 7},
        {"returning": True, "days_since_last_visit": 7.0},
        "",
    ),
    (
        "days since last visit too recent",
        {"days_since_last_visit_min": 7},
        {"returning": True, "days_since_last_visit": 6.9},
        "days_since_last_visit_min",
    ),
    (
        "days since last visit too long",
        {"days_since_last_visit_max": 30},
        {"returning": True, "days_since_last_visit": 30.5},
        "days_since_last_visit_max",
    ),
    (
        "no last visit fails a recency rule",
        {"days_since_last_visit_max": 30},
        {},
        "days_since_last_visit_max",
    ),
    # -- UTM and referrer ------------------------------------------------------------
    (
        "utm source exact, case-insensitive",
        {"utm_source": ["Newsletter"]},
        {"utm_source": "NEWSLETTER"},
        "",
    ),
    ("utm source other", {"utm_source": ["newsletter"]}, {"utm_source": "google"}, "utm_source"),
    ("utm source missing", {"utm_source": ["newsletter"]}, {}, "utm_source"),
    ("utm campaign prefix", {"utm_campaign": ["spring_*"]}, {"utm_campaign": "spring_sale"}, ""),
    (
        "utm campaign prefix miss",
        {"utm_campaign": ["spring_*"]},
        {"utm_campaign": "autumn"},
        "utm_campaign",
    ),
    ("utm medium one of", {"utm_medium": ["cpc", "email"]}, {"utm_medium": "email"}, ""),
    (
        "referrer exact host, www ignored",
        {"referrer_host": ["google.com"]},
        {"referrer_host": "www.google.com"},
        "",
    ),
    (
        "referrer subdomain needs *.",
        {"referrer_host": ["google.com"]},
        {"referrer_host": "news.google.com"},
        "referrer_host",
    ),
    (
        "referrer wildcard subdomain",
        {"referrer_host": ["*.google.com"]},
        {"referrer_host": "news.google.com"},
        "",
    ),
    (
        "referrer wildcard is not a suffix match",
        {"referrer_host": ["*.google.com"]},
        {"referrer_host": "evilgoogle.com"},
        "referrer_host",
    ),
    ("no referrer", {"referrer_host": ["*.google.com"]}, {}, "referrer_host"),
    # -- segment, hours, capacity -------------------------------------------------------
    ("segment member", {"segment_id": 4}, {"in_segment": True}, ""),
    ("segment non-member", {"segment_id": 4}, {"in_segment": False}, "segment"),
    ("segment not evaluated is no", {"segment_id": 4}, {}, "segment"),
    ("business hours open", {"business_hours_only": True}, {"hours_open": True}, ""),
    (
        "business hours closed",
        {"business_hours_only": True},
        {"hours_open": False},
        "business_hours_only",
    ),
    ("agent capacity there", {"require_agent_capacity": True}, {"agent_capacity": True}, ""),
    ("agent capacity none", {"require_agent_capacity": True}, {}, "require_agent_capacity"),
    # -- device, language, exit intent -----------------------------------------------------
    ("device listed", {"devices": ["mobile", "tablet"]}, {"device": "tablet"}, ""),
    ("device not listed", {"devices": ["mobile"]}, {"device": "desktop"}, "devices"),
    ("device unknown", {"devices": ["mobile"]}, {"device": None}, "devices"),
    ("exit intent needs desktop", {"exit_intent": True}, {"device": "mobile"}, "exit_intent"),
    ("exit intent on desktop", {"exit_intent": True}, {"device": "desktop"}, ""),
    ("language prefix", {"languages": ["pt"]}, {"language": "pt-BR"}, ""),
    ("language exact region", {"languages": ["pt-br"]}, {"language": "pt-pt"}, "languages"),
    ("language is not a string prefix", {"languages": ["en"]}, {"language": "eng"}, "languages"),
    ("language underscore", {"languages": ["pt_BR"]}, {"language": "pt-br"}, ""),
    ("language missing", {"languages": ["en"]}, {"language": None}, "languages"),
    # -- order: cheap rules first, the first failing one is named --------------------------
    (
        "first failing rule named",
        {"devices": ["mobile"], "url_include": ["/cart"]},
        {"device": "desktop"},
        "devices",
    ),
]


def _ctx(**over: Any) -> PageContext:
    base: dict[str, Any] = {"url": SHOP, "now": NOW, "device": "desktop", "language": "en"}
    base.update(over)
    return PageContext(**base)


@pytest.mark.parametrize(
    ("rules", "ctx", "reason"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_rule_table(rules: dict[str, Any], ctx: dict[str, Any], reason: str) -> None:
    result = static_match(CampaignRules.model_validate(rules), _ctx(**ctx))
    assert (result.ok, result.reason) == (reason == "", reason)


def test_table_is_big_and_names_every_server_rule() -> None:
    assert len(ROWS) >= 60
    named = {r[3] for r in ROWS} - {""}
    server_rules = {
        "url_include", "url_exclude", "url_regex", "starts_at", "ends_at", "visits_min",
        "visits_max", "visitor", "days_since_last_visit_min", "days_since_last_visit_max",
        "utm_source", "utm_medium", "utm_campaign", "referrer_host", "segment",
        "business_hours_only", "require_agent_capacity", "devices", "languages", "exit_intent",
    }  # fmt: skip
    # utm_medium only has a passing row; every other rule is seen refusing.
    assert server_rules - named == {"utm_medium"}


def test_watch_for_has_only_what_is_set() -> None:
    assert watch_for(CampaignRules()) == {}
    rules = CampaignRules(
        active_seconds=20, scroll_percent=50, exit_intent=True, idle_seconds=30,
        site_trigger="added_to_cart", url_include=["/cart"],
    )  # fmt: skip
    assert watch_for(rules) == {
        "active_seconds": 20,
        "scroll_percent": 50,
        "exit_intent": True,
        "idle_seconds": 30,
        "site_trigger": "added_to_cart",
    }
    assert watch_for(compile_rules(CampaignRules(scroll_percent=75))) == {"scroll_percent": 75}


def test_rule_cache_compiles_once_per_key() -> None:
    cache = RuleCache(size=2)
    rules = {"url_include": ["/products/*"]}
    first = cache.get((1, "v1"), rules)
    assert cache.get((1, "v1"), rules) is first
    assert cache.get((1, "v2"), {"url_include": ["/cart"]}) is not first
    cache.get((2, "v1"), rules)
    assert len(cache) == 2  # the oldest was dropped
    assert cache.get((1, "v1"), rules) is not first


def test_catastrophic_regex_is_fast() -> None:
    import time

    compiled = compile_rules(CampaignRules(url_regex=r"(a+)+$"))
    ctx = _ctx(url="https://shop.example/" + "a" * 4000 + "!")
    start = time.perf_counter()
    assert not static_match(compiled, ctx).ok
    assert time.perf_counter() - start < 0.05


def test_glob_fast_paths_agree_with_the_full_regex() -> None:
    """Exact, prefix (**), segment (*) and RE2 paths decide as the glob's regex does."""
    import random
    import re

    from chat_server.services.campaigns.patterns import glob_to_regex

    rng = random.Random(24)  # noqa: S311 (test data)
    pieces = ["/a", "/b", "/ab", "/", "*", "**", "-x", ".html", "{c,d}"]
    paths = ["/a", "/a/", "/a/b", "/ab", "/ab/c.html", "/b-x", "/a/b/c", "/c", "/d.html", "/"]
    checked = 0
    for _ in range(400):
        glob = "/" + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 4))).lstrip("/")
        try:
            pattern = re.compile(glob_to_regex(glob))
        except ValueError:
            continue  # e.g. *** (refused by validation)
        compiled = compile_rules(CampaignRules(url_include=[glob]))
        for path in paths:
            expected = pattern.fullmatch(path) is not None
            got = static_match(compiled, _ctx(url="https://s.example" + path)).ok
            assert got == expected, (glob, path)
            checked += 1
    assert checked > 2000
