"""A campaign's experiment end to end in Chromium (issue 24, "Done means"): a
visitor lands on a matching page, waits, sees the opener, replies, buys, and
the conversion is credited to its variant in the campaign's results; a
control-group visitor sees nothing and is counted ("would have shown").

A real chat-server process serving the demo store, the agent Sam online in
the console (the opener is his: an agent opener needs no bot, so Rasa is
absent here), the campaign row in its database, the results read from
`GET /api/campaigns/{id}/results` as an admin. Which visitor lands in which
arm is the engine's own hash: the test picks the campaign's version under
which the first visitor hashes into the variant and the second into control.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.engagement_models import Campaign
from chat_server.services.campaigns.engine import arm_for
from dev.devstack import Stack
from tests.e2e.console_helpers import Rest, create_agent, go_online, sign_in, wait_until
from tests.e2e.test_widget_browser import LAUNCHER, LOG
from tests.e2e.test_widget_campaigns import (
    ACTIVE_SECONDS,
    TEASER,
    cli_agent,
    run,
    visitor_id,
    visitor_page,
    wait_for,
)
from tests.support.campaigns import add_campaign, campaign_events, live
from tests.support.server_process import ServerProcess, chat_server_process

pytestmark = pytest.mark.browser

OPENER = "Hi, Sam here. Need a hand choosing your next pair of trail shoes?"
REPLY = "Yes, please"
CAMPAIGN_ID = 1  # the first campaign of a fresh database


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with chat_server_process(tmp_path, env={"SERVE_DEMO": "true", "AUTO_ASSIGN": "false"}) as srv:
        yield srv


def campaign_values(base: str, agent_id: int) -> dict[str, Any]:
    return {
        "name": "Trail shoes opener",
        "kind": "agent",
        "agent_id": agent_id,
        "rules": {"url_include": [base + "/"], "active_seconds": ACTIVE_SECONDS},
        "variants": [
            {"key": "A", "weight": 1.0, "content": {"text": OPENER, "quick_replies": [REPLY]}}
        ],
        "holdout": 0.5,
        "goal": {"type": "conversion", "name": "purchase", "window_hours": 24},
    }


def version_for(values: dict[str, Any], treated: str, control: str) -> int:
    """A version under which ``treated`` hashes into arm A and ``control`` into control."""
    for version in range(1, 2000):
        campaign = live({**values, "version": version}, CAMPAIGN_ID)
        if arm_for(campaign, treated) == "A" and arm_for(campaign, control) == "control":
            return version
    raise AssertionError("no version splits the two visitors")


def arm(results: dict[str, Any], key: str) -> dict[str, Any]:
    return next(a for a in results["arms"] if a["key"] == key)


def next_page_watched(page: Page, frames: Any, base: str) -> None:
    """Load the store (``base`` + "/", or the page ``base`` when it has a query)
    again until the server answers with a campaign_watch (its campaign cache
    notices a new campaign within CampaignCache's refresh)."""
    url = base if "?" in base else base + "/"
    for _ in range(10):
        page.goto(url)
        expect(page.locator(LAUNCHER)).to_be_visible()
        try:
            wait_for(
                page,
                lambda: frames.events("campaign_watch", sent=False),
                "campaign_watch",
                timeout=1.5,
            )
            return
        except AssertionError:
            continue
    raise AssertionError("no campaign_watch")


def landed(page: Page, base: str) -> str:
    page.goto(base + "/")
    expect(page.locator(LAUNCHER)).to_be_visible()
    return visitor_id(page)


def test_opener_reply_conversion_credited_and_control_counted(
    browser: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    base = server.base
    cli_agent(server.database_url, "agent-sam", "Sam")
    cli_agent(server.database_url, "admin-ada", "Ada", role="admin")
    sam = Rest(base).login("agent-sam")
    ada = Rest(base).login("admin-ada")
    desk = browser.new_context(viewport={"width": 1280, "height": 800})
    treated_ctx, treated, treated_frames = visitor_page(browser, "desktop")
    control_ctx, control, control_frames = visitor_page(browser, "phone")
    try:
        console = desk.new_page()
        sign_in(console, base, "agent-sam")
        go_online(console, sam)

        # Two visitors arrive before the campaign runs; it is then started
        # with the version that puts them in different arms.
        treated_id = landed(treated, base)
        control_id = landed(control, base)
        values = campaign_values(base, sam.me["id"])
        version = version_for(values, treated_id, control_id)
        created = run(lambda: add_campaign(server.database_url, **{**values, "version": version}))
        assert created == CAMPAIGN_ID

        # The treated visitor's next page: the teaser after ACTIVE_SECONDS.
        next_page_watched(treated, treated_frames, base)
        teaser = treated.locator(TEASER)
        expect(teaser).to_be_visible(timeout=(ACTIVE_SECONDS + 15) * 1000)
        expect(teaser.locator(".teaser-text")).to_have_text(OPENER)
        treated.screenshot(
            path=str(screenshot_dir / "campaign-flow-teaser.png"), animations="disabled"
        )
        teaser.get_by_role("button", name=REPLY).click()
        expect(treated.locator(f"{LOG} .bubble", has_text=OPENER)).to_have_count(1)
        expect(treated.locator(f"{LOG} .msg-visitor .bubble").last).to_have_text(REPLY)
        expect(treated.locator(f"{LOG} .msg-visitor.pending")).to_have_count(0)
        treated.get_by_role("button", name="Close chat").click()

        # The control visitor's next page: watched and ready like the other, shown nothing.
        next_page_watched(control, control_frames, base)
        wait_for(
            control, lambda: control_frames.events("campaign_ready"), "campaign_ready (control)"
        )
        control.wait_for_timeout(3000)
        expect(control.locator(TEASER)).to_have_count(0)
        assert control_frames.events("campaign_shown", sent=False) == []
        assert control_frames.events("bot_uttered", sent=False) == []
        control.screenshot(path=str(screenshot_dir / "campaign-flow-control.png"))

        # Both buy; only the treated visitor's purchase can be credited to A.
        for page in (treated, control):
            page.locator("#grid .buy").first.click()
            expect(page.locator("#grid .buy-status").first).to_contain_text("Thank you!")

        results = wait_until(
            lambda: (
                r
                if arm(r := ada.ok("GET", f"/api/campaigns/{CAMPAIGN_ID}/results"), "A")[
                    "conversions"
                ]
                == 1
                and arm(r, "control")["conversions"] == 1
                else None
            ),
            "both purchases credited",
        )
        assert arm(results, "A")["assigned"] == 1 and arm(results, "A")["exposed"] == 1
        assert arm(results, "control")["assigned"] == 1 and arm(results, "control")["exposed"] == 1
        assert results["version"] == version
        # The reply to the opener is logged for the treated visitor; the control visitor was exposed, unseen.
        treated_events = {
            e.type for e in run(lambda: campaign_events(server.database_url, treated_id))
        }
        assert {"campaign_exposed", "campaign_shown", "campaign_replied"} <= treated_events
        control_events = run(lambda: campaign_events(server.database_url, control_id))
        exposed = [e for e in control_events if e.type == "campaign_exposed"]
        assert len(exposed) == 1 and exposed[0].data["shown"] is False
        assert "campaign_shown" not in {e.type for e in control_events}
    finally:
        control_ctx.close()
        treated_ctx.close()
        desk.close()


# -- The bot's opener, on the full stack (Rasa + action server) ------------------------

BOT_OPENER = (
    "Heading out on the trail? Our running shoes are 15% off this week. Want a recommendation?"
)
FOLLOWUP = "Great choice! The Tempo Flyer is our lightest trail runner."


async def start_campaign(database_url: str, values: dict[str, Any], pick: Any) -> tuple[int, int]:
    """Insert the campaign as a draft (to learn its id), then run it with the
    version ``pick(id)`` chooses; returns (id, version)."""
    campaign_id = int(await add_campaign(database_url, **{**values, "status": "draft"}))
    version = int(pick(campaign_id))
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(Campaign)
                .where(Campaign.id == campaign_id)
                .values(status="running", version=version)
            )
    finally:
        await engine.dispose()
    return campaign_id, version


def bot_version_for(values: dict[str, Any], campaign_id: int, treated: str, control: str) -> int:
    for version in range(1, 2000):
        campaign = live({**values, "status": "running", "version": version}, campaign_id)
        if arm_for(campaign, treated) == "A" and arm_for(campaign, control) == "control":
            return version
    raise AssertionError("no version splits the two visitors")


@pytest.mark.stack
def test_bot_opener_reply_conversion_credited_and_control_counted(
    browser: Browser, live_stack: Stack, screenshot_dir: Path
) -> None:
    base = live_stack.base_url.rstrip("/")
    database_url = live_stack.config.database_url
    admin = Rest(base).login(create_agent(live_stack, "Ada", role="admin"))
    # A page of its own, so no other test on the shared stack matches this campaign.
    page_url = f"{base}/?campaign-e2e={uuid.uuid4().hex}"
    treated_ctx, treated, treated_frames = visitor_page(browser, "desktop")
    control_ctx, control, control_frames = visitor_page(browser, "phone")
    campaign_id = 0
    try:
        treated.goto(page_url)
        control.goto(page_url)
        treated_id, control_id = visitor_id(treated), visitor_id(control)
        values = {
            "name": f"Bot opener {uuid.uuid4().hex[:6]}",
            "kind": "bot",
            "rules": {"url_include": [page_url], "active_seconds": ACTIVE_SECONDS},
            "variants": [
                {
                    "key": "A",
                    "weight": 1.0,
                    "content": {
                        "text": BOT_OPENER,
                        "buttons": [
                            {"title": "Yes, please", "payload": "/affirm"},
                            {"title": "No thanks", "payload": "/deny"},
                        ],
                        "followup": FOLLOWUP,
                    },
                }
            ],
            "holdout": 0.5,
            "goal": {"type": "conversion", "name": "purchase", "window_hours": 24},
        }
        campaign_id, version = run(
            lambda: start_campaign(
                database_url,
                values,
                lambda cid: bot_version_for(values, cid, treated_id, control_id),
            )
        )

        # Treated: the bot's opener as a teaser; "Yes, please" gets the variant's follow-up.
        next_page_watched(treated, treated_frames, page_url)
        teaser = treated.locator(TEASER)
        expect(teaser).to_be_visible(timeout=(ACTIVE_SECONDS + 30) * 1000)
        expect(teaser.locator(".teaser-text")).to_have_text(BOT_OPENER)
        # Finite animations (the teaser fades in for 0.22 s) run to their end first.
        treated.screenshot(
            path=str(screenshot_dir / "campaign-bot-opener-teaser.png"), animations="disabled"
        )
        teaser.get_by_role("button", name="Yes, please").click()
        expect(treated.locator(f"{LOG} .bubble", has_text=BOT_OPENER)).to_have_count(1)
        expect(treated.locator(f"{LOG} .msg-bot .bubble", has_text=FOLLOWUP)).to_have_count(
            1, timeout=30_000
        )
        treated.screenshot(path=str(screenshot_dir / "campaign-bot-opener-chat.png"))
        treated.get_by_role("button", name="Close chat").click()

        # Control: watched and ready, shown nothing.
        next_page_watched(control, control_frames, page_url)
        wait_for(
            control, lambda: control_frames.events("campaign_ready"), "campaign_ready (control)"
        )
        control.wait_for_timeout(3000)
        expect(control.locator(TEASER)).to_have_count(0)
        assert control_frames.events("campaign_shown", sent=False) == []

        for page in (treated, control):
            page.locator("#grid .buy").first.click()
            expect(page.locator("#grid .buy-status").first).to_contain_text("Thank you!")

        results = wait_until(
            lambda: (
                r
                if arm(r := admin.ok("GET", f"/api/campaigns/{campaign_id}/results"), "A")[
                    "conversions"
                ]
                == 1
                and arm(r, "control")["conversions"] == 1
                else None
            ),
            "both purchases credited",
        )
        assert results["version"] == version
        assert arm(results, "A")["exposed"] == 1 and arm(results, "control")["exposed"] == 1
        treated_events = {e.type for e in run(lambda: campaign_events(database_url, treated_id))}
        assert {
            "campaign_exposed",
            "campaign_shown",
            "campaign_replied",
            "campaign_converted",
        } <= treated_events
    finally:
        control_ctx.close()
        treated_ctx.close()
        if campaign_id:
            run(lambda: end_campaign(database_url, campaign_id))


async def end_campaign(database_url: str, campaign_id: int) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(Campaign).where(Campaign.id == campaign_id).values(status="ended")
            )
    finally:
        await engine.dispose()
