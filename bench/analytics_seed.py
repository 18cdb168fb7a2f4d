"""A large, realistic interaction event log, generated inside PostgreSQL.

Used by bench/analytics_queries.py: N events (default 5,000,000) over 60 days
for 8% as many visitors, with the event mix of a busy shop (page views
dominate; a few percent chat; a fraction of those reach a person, rate, or
buy). Generated with ``generate_series`` in the database itself, so seeding 5M
rows takes minutes, not hours.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# (type, share of all events, JSON data built in SQL from random() values r1, r2)
MIX: list[tuple[str, float, str]] = [
    (
        "page_view",
        0.435,
        "json_build_object('url', 'https://shop.example' || p.path, 'path', p.path, "
        "'utm_source', CASE WHEN r1 < 0.2 THEN 'newsletter' WHEN r1 < 0.35 THEN 'google' END, "
        "'utm_medium', NULL, 'utm_campaign', NULL, 'utm_term', NULL, 'utm_content', NULL, "
        "'title', 'Shop', 'referrer', NULL, 'returning', r2 < 0.4)",
    ),
    (
        "page_left",
        0.15,
        "json_build_object('url', 'https://shop.example' || p.path, "
        "'path', p.path, 'seconds', round((r1 * 300)::numeric, 1))",
    ),
    ("widget_opened", 0.05, "json_build_object('url', 'https://shop.example' || p.path)"),
    ("widget_closed", 0.03, "json_build_object('url', 'https://shop.example' || p.path)"),
    ("message_received", 0.12, "json_build_object('message_id', g, 'state', 'bot')"),
    (
        "bot_replied",
        0.12,
        "json_build_object('message_id', g, 'latency_ms', round((50 + r1 * 200)::numeric, 1), "
        "'intent', (ARRAY['greet','find_product','ask_price','ask_shipping','ask_returns',"
        "'thank','goodbye','nlu_fallback'])[1 + floor(r2 * 8)::int], 'confidence', r1, "
        "'entities', json_build_array(), 'fallback', r2 > 0.875, 'replies', 1)",
    ),
    ("conversation_started", 0.03, "json_build_object()"),
    (
        "bot_fallback",
        0.01,
        "json_build_object('message_id', g, 'text', 'unknown phrase ' || floor(r1 * 50)::int, "
        "'intent', 'nlu_fallback', 'confidence', r2 / 3)",
    ),
    (
        "card_impression",
        0.03,
        "json_build_object('product_id', 'p' || floor(r1 * 40)::int, "
        "'category', (ARRAY['tents','jackets','boots','backpacks'])[1 + floor(r2 * 4)::int], "
        "'position', floor(r2 * 4)::int)",
    ),
    (
        "card_clicked",
        0.005,
        "json_build_object('product_id', 'p' || floor(r1 * 40)::int, "
        "'category', (ARRAY['tents','jackets','boots','backpacks'])[1 + floor(r2 * 4)::int])",
    ),
    (
        "handoff_requested",
        0.003,
        "json_build_object('reason', (ARRAY['requested','complaint','fallback'])"
        "[1 + floor(r1 * 3)::int], 'agents_available', true)",
    ),
    (
        "handoff_transition",
        0.006,
        "json_build_object('from', 'queued', 'to', CASE WHEN r2 < 0.5 THEN 'assigned' "
        "ELSE 'resolved' END, 'reason', 'requested', 'agent_id', 1 + floor(r1 * 20)::int, "
        "'wait_seconds', round((r1 * 120)::numeric, 1), "
        "'handoff_seconds', round((r2 * 1800)::numeric, 1))",
    ),
    (
        "agent_message",
        0.005,
        "json_build_object('message_id', g, 'agent_id', 1 + floor(r1 * 20)::int)",
    ),
    (
        "agent_first_response",
        0.002,
        "json_build_object('agent_id', 1 + floor(r1 * 20)::int, "
        "'seconds', round((r2 * 180)::numeric, 1))",
    ),
    (
        "csat",
        0.001,
        "json_build_object('score', 1 + floor(r1 * 5)::int, 'comment', false, "
        "'agent_id', 1 + floor(r2 * 20)::int)",
    ),
    ("lead_captured", 0.001, "json_build_object('source', 'newsletter')"),
    (
        "conversion",
        0.002,
        "json_build_object('name', 'purchase', 'value', round((20 + r1 * 300)::numeric, 2), "
        "'currency', 'USD', 'order_id', 'o' || g, 'url', NULL)",
    ),
]


def _type_case() -> tuple[str, str]:
    """CASE expressions picking a type and its data from one random number ``r0``."""
    bounds, total = [], 0.0
    for name, share, data in MIX:
        total += share
        bounds.append((round(total, 6), name, data))
    types = " ".join(f"WHEN r0 < {b} THEN '{n}'" for b, n, _ in bounds[:-1])
    datas = " ".join(f"WHEN r0 < {b} THEN {d}" for b, _, d in bounds[:-1])
    last_name, last_data = bounds[-1][1], bounds[-1][2]
    return (
        f"CASE {types} ELSE '{last_name}' END",
        f"CASE {datas} ELSE {last_data} END",
    )


async def seed(engine: AsyncEngine, events: int, days: int = 60) -> int:
    """Insert visitors, agents and ``events`` events; returns the visitor count."""
    visitors = max(1000, events * 8 // 100)
    type_sql, data_sql = _type_case()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO agents (username, display_name, password_hash, must_change_password,"
                " role, status, max_chats, notify_mode, created_at) "
                "SELECT 'agent' || g, 'Agent ' || g, 'x', false, 'agent', 'offline', 3, "
                "'always', now() FROM generate_series(1, 20) g"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO visitors (id, created_at, last_seen_at, profile, session_generation,"
                " name, external_id) "
                "SELECT 'v' || g, now() - random() * make_interval(days => :days * 2), now(), "
                "'{}'::json, 0, CASE WHEN g % 10 = 0 THEN 'Visitor ' || g END, "
                "CASE WHEN g % 20 = 0 THEN 'customer-' || g END "
                "FROM generate_series(1, :n) g"
            ),
            {"n": visitors, "days": days},
        )
        # The f-string parts are this module's constants (MIX), not input.
        await conn.execute(
            text(
                "INSERT INTO interaction_events"  # noqa: S608
                " (type, visitor_id, conversation_id, data, created_at) "
                f"SELECT {type_sql}, 'v' || (1 + floor(r3 * :visitors))::int, "
                "(1 + floor(r3 * :visitors * 0.3))::bigint, "
                f"{data_sql}, now() - r4 * make_interval(days => :days) "
                "FROM (SELECT g, random() AS r0, random() AS r1, random() AS r2, random() AS r3,"
                " random() AS r4 FROM generate_series(1, :n) g) AS rnd, "
                "LATERAL (SELECT (ARRAY['/', '/products/tents', '/products/jackets', '/sale', "
                "'/checkout'])[1 + floor(r2 * 5)::int] AS path) AS p"
            ),
            {"n": events, "visitors": visitors, "days": days},
        )
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        # What autovacuum does in production: statistics, and the visibility
        # map that lets index-only scans skip the table.
        await conn.execute(text("VACUUM ANALYZE interaction_events"))
        await conn.execute(text("VACUUM ANALYZE visitors"))
    return visitors
