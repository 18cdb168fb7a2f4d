"""Every console view passes axe-core (no serious or critical violation) at a
desktop size (1280x800) and a phone size (390x844): sign-in, the inbox list, an
open conversation with its transcript, the dashboard, live visitors,
follow-ups, webhooks with a delivery log, agents, segments and a segment's
editor, campaigns, a campaign's editor and its results, and the settings,
canned responses and keyboard shortcuts dialogs. Each view is photographed too
(RAPPORT_SCREENSHOT_DIR)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.engagement_models import Campaign, Segment
from chat_server.db.models import (
    Conversation,
    Followup,
    Message,
    Visitor,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from dev.devstack import Stack
from tests.e2e.axe import BLOCKING, axe_violations
from tests.e2e.console_helpers import Rest, create_agent, sign_in
from tests.support.rows import insert_now, messages, run_sync

pytestmark = [pytest.mark.browser, pytest.mark.stack]

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
PREFIX = "axe-"


def seed(database_url: str, agent_id: int) -> dict[str, Any]:
    """A named visitor in a conversation with every kind of line, two more
    conversations, follow-ups, and a webhook with a delivery log."""
    now = utcnow()
    vid = f"{PREFIX}{agent_id}-jamie-0001"
    insert_now(
        database_url,
        [
            Visitor(id=vid, profile={"interests": ["tents"]}, name="Jamie Rivera",
                    email="jamie@example.com", created_at=now - timedelta(days=3)),
            *[
                Visitor(id=f"{PREFIX}{agent_id}-other-{i}", profile={}, created_at=now)
                for i in range(2)
            ],
        ],
    )  # fmt: skip
    cids = insert_now(
        database_url,
        [
            Conversation(visitor_id=vid, state="assigned", assigned_agent_id=agent_id,
                         handoff_reason="requested", queued_at=now, assigned_at=now, unread=1),
            Conversation(visitor_id=f"{PREFIX}{agent_id}-other-0", state="queued",
                         handoff_reason="fallbacks", queued_at=now - timedelta(minutes=3)),
            Conversation(visitor_id=f"{PREFIX}{agent_id}-other-1", state="resolved",
                         resolved_at=now - timedelta(minutes=30), csat_score=4),
        ],
    )  # fmt: skip
    lines = [
        ("visitor", "Hi! Do you have the Trailhead 2 tent in green?"),
        ("bot", "The Trailhead 2 comes in green and orange. Shall I show you?"),
        ("visitor", "Can I talk to a person please?"),
        ("system", "Handed to an agent: the visitor asked for a person"),
        ("note", "Returning customer, ordered boots last month."),
        ("agent", "Hi Jamie, Ada here. Yes, green is in stock."),
        ("visitor", "Great, and how long is shipping?"),
    ]
    insert_now(database_url, messages(cids[0], vid, lines))
    insert_now(
        database_url,
        [
            Followup(visitor_id=vid, conversation_id=cids[0], email="jamie@example.com",
                     message=f"Please call me back about order #{1000 + i}.", status="open",
                     created_at=now - timedelta(hours=i))
            for i in range(2)
        ],
    )  # fmt: skip
    (endpoint,) = insert_now(
        database_url,
        [WebhookEndpoint(url="https://crm.example.com/hooks/rapport", topics=["lead", "csat"],
                         secret="s", enabled=False, last_event_id=0)],
    )  # fmt: skip
    insert_now(
        database_url,
        [
            WebhookDelivery(endpoint_id=endpoint, topic=topic, payload={}, status=status,
                            attempts=attempts, last_status=code, last_error=error,
                            next_attempt_at=now, created_at=now - timedelta(minutes=i))
            for i, (topic, status, attempts, code, error) in enumerate([
                ("lead", "delivered", 1, 200, None),
                ("csat", "failed", 8, None, "connection refused"),
                ("lead", "pending", 2, 503, None),
            ])
        ],
    )  # fmt: skip
    segment, campaign = insert_now(
        database_url,
        [
            Segment(name=f"{PREFIX}{agent_id} returning visitors", description="Two visits or more",
                    filter={"match": "all", "conditions": [{"field": "visits", "op": "gte", "value": 2}]}),
            Campaign(name=f"{PREFIX}{agent_id} tents opener", status="paused", kind="bot", priority=5,
                     rules={"url_include": ["/products/*"], "active_seconds": 10},
                     variants=[{"key": "A", "weight": 0.5, "content": {"text": "Need a hand choosing a tent?"}},
                               {"key": "B", "weight": 0.5, "content": {"text": "Tents are 10 % off today.",
                                                                       "quick_replies": ["Show me"]}}],
                     holdout=0.1, goal={"type": "reply", "window_hours": 72}, started_at=now),
        ],
    )  # fmt: skip
    return {"conversation": cids[0], "endpoint": endpoint, "visitor": vid, "segment": segment,
            "campaign": campaign}  # fmt: skip


def unseed(database_url: str, agent_id: int, endpoint: int | None) -> None:
    prefix = f"{PREFIX}{agent_id}-"

    async def run() -> None:
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as conn:
                if endpoint is not None:
                    await conn.execute(
                        delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint)
                    )
                    await conn.execute(
                        delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint)
                    )
                await conn.execute(delete(Campaign).where(Campaign.name.like(f"{prefix}%")))
                await conn.execute(delete(Segment).where(Segment.name.like(f"{prefix}%")))
                for table in (Followup, Message, Conversation):
                    await conn.execute(delete(table).where(table.visitor_id.like(f"{prefix}%")))
                await conn.execute(delete(Visitor).where(Visitor.id.like(f"{prefix}%")))
        finally:
            await engine.dispose()

    run_sync(run)


@pytest.fixture
def admin(live_stack: Stack) -> Iterator[tuple[str, Rest, dict[str, Any]]]:
    username = create_agent(live_stack, "Ada", role="admin")
    rest = Rest(live_stack.base_url).login(username)
    seeded: dict[str, Any] = {"endpoint": None}
    try:
        seeded = seed(live_stack.config.database_url, rest.me["id"])
        yield username, rest, seeded
    finally:
        unseed(live_stack.config.database_url, rest.me["id"], seeded["endpoint"])


def open_dialog(page: Page, title: str) -> None:
    page.locator(f"button[title='{title}']").click()
    expect(page.locator("dialog[open]")).to_be_visible()


def close_dialog(page: Page) -> None:
    page.keyboard.press("Escape")
    expect(page.locator("dialog")).to_have_count(0)


def views(base_url: str, seeded: dict[str, Any]) -> list[tuple[str, Callable[[Page], None]]]:
    def hash_view(path: str, ready: str) -> Callable[[Page], None]:
        def show(page: Page) -> None:
            page.goto(f"{base_url}/console#/{path}")
            expect(page.locator(ready).first).to_be_visible()

        return show

    def webhooks(page: Page) -> None:
        hash_view("webhooks", ".wh-item")(page)
        item = page.locator(f".wh-item[data-webhook='{seeded['endpoint']}']")
        item.get_by_role("button", name="Delivery log").click()
        expect(page.locator("table.data tbody tr")).to_have_count(3)

    def shortcuts(page: Page) -> None:
        hash_view("mine", ".conv-list a.conv")(page)
        page.locator("body").press("?")
        expect(page.locator("dialog[open]")).to_be_visible()

    def dialog(title: str) -> Callable[[Page], None]:
        def show(page: Page) -> None:
            hash_view("mine", ".conv-list a.conv")(page)
            open_dialog(page, title)
            page.wait_for_timeout(300)  # the canned list loads

        return show

    return [
        ("inbox", hash_view("mine", ".conv-list a.conv")),
        ("conversation", hash_view(f"c/{seeded['conversation']}", ".transcript .msg")),
        # (Routing may have given the queued one to an agent of another test by now.)
        ("queue", hash_view("queue", "#list-title:has-text('Queue')")),
        ("followups", hash_view("followups", ".followup")),
        ("dashboard", hash_view("dashboard", "ul.tiles")),
        ("live-visitors", hash_view("live", ".visitor-card")),
        ("webhooks", webhooks),
        ("agents", hash_view("agents", ".team-item")),
        ("segments", hash_view("segments", f"tr[data-segment='{seeded['segment']}']")),
        ("segment-editor", hash_view(f"segments/{seeded['segment']}", ".condition")),
        ("campaigns", hash_view("campaigns", f"tr[data-campaign='{seeded['campaign']}']")),
        (
            "campaign-editor",
            hash_view(f"campaigns/{seeded['campaign']}", "section[data-variant='B']"),
        ),
        ("campaign-results", hash_view(f"campaigns/{seeded['campaign']}/results", ".verdict")),
        ("settings", dialog("Settings")),
        ("canned-responses", dialog("Canned responses")),
        ("keyboard-shortcuts", shortcuts),
    ]


def test_every_console_view_has_no_serious_axe_violation(
    browser: Browser,
    live_stack: Stack,
    admin: tuple[str, Rest, dict[str, Any]],
    screenshot_dir: Path,
) -> None:
    username, _, seeded = admin
    base_url = live_stack.base_url
    # Someone on the site, so the live visitors view has a card.
    shopper = browser.new_context()
    shopper.new_page().goto(base_url + "/")
    # A console of the admin's that stays open throughout: between the two
    # sizes the admin is never without a console, so the reconnect grace never
    # runs out and requeues the seeded conversation (seen on a loaded machine).
    anchor = browser.new_context()
    sign_in(anchor.new_page(), base_url, username)
    found: dict[str, dict[str, list[dict[str, Any]]]] = {}
    try:
        for size, (width, height) in SIZES.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.set_default_timeout(20_000)
            try:
                page.goto(base_url + "/console")
                expect(page.get_by_role("button", name="Sign in")).to_be_visible()
                found.setdefault("sign-in", {})[size] = check(page, screenshot_dir, "sign-in", size)
                sign_in(page, base_url, username)
                for name, show in views(base_url, seeded):
                    show(page)
                    found.setdefault(name, {})[size] = check(page, screenshot_dir, name, size)
                    if page.locator("dialog[open]").count():
                        close_dialog(page)
            finally:
                context.close()
    finally:
        shopper.close()
        anchor.close()
    counts = {
        view: {size: len(v) for size, v in by_size.items()} for view, by_size in found.items()
    }
    (screenshot_dir / "axe-counts.json").write_text(json.dumps(counts, indent=2))
    print("axe serious/critical violations per view:", json.dumps(counts))
    blocking = [
        f"{view} ({size}): {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}"
        for view, by_size in found.items()
        for size, violations in by_size.items()
        for v in violations
    ]
    assert blocking == [], "axe-core:\n" + "\n".join(blocking)


def check(page: Page, directory: Path, name: str, size: str) -> list[dict[str, Any]]:
    """The view's serious and critical violations; a full-page screenshot of it."""
    page.wait_for_timeout(200)  # transitions settle before colours are measured
    page.screenshot(path=str(directory / f"{name}-{size}.png"), full_page=True)
    return [v for v in axe_violations(page) if v["impact"] in BLOCKING]
