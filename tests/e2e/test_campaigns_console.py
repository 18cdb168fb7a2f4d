"""Segments and campaigns in the console, in headless Chromium against the real
stack: a segment's live size while it is edited, a campaign with two variants
whose bad URL glob, bad regex and allocation are refused with messages next to
their fields, started, then read-only in its allocation, and its results page
in its states. Each view passes axe-core at desktop and phone sizes and is
photographed (RAPPORT_SCREENSHOT_DIR, else the test's tmp dir)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.engagement_models import CampaignAssignment, VisitorTraits
from chat_server.db.models import InteractionEvent, utcnow
from dev.devstack import Stack
from tests.e2e.axe import axe_violations
from tests.e2e.console_helpers import Rest, create_agent, sign_in
from tests.support.rows import run_sync

pytestmark = [pytest.mark.browser, pytest.mark.stack]

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.fixture
def marketer(live_stack: Stack) -> tuple[str, Rest]:
    username = create_agent(live_stack, "Mara", role="marketer")
    return username, Rest(live_stack.base_url).login(username)


@pytest.fixture
def traits(live_stack: Stack) -> Iterator[str]:
    """Three visitors whose latest UTM campaign is a value of this test's own:
    visits 1, 5 and 7."""
    tag = f"e2e-{uuid.uuid4().hex[:10]}"
    now = utcnow()
    rows = [
        {"visitor_id": f"{tag}-{visits}", "visits": visits, "page_views": visits,
         "last_campaign": tag, "first_seen_at": now - timedelta(days=3), "last_seen_at": now,
         "visit_started_at": now}
        for visits in (1, 5, 7)
    ]  # fmt: skip

    async def add() -> None:
        engine = create_async_engine(live_stack.config.database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(insert(VisitorTraits), rows)
        finally:
            await engine.dispose()

    run_sync(add)
    yield tag

    async def clean() -> None:
        engine = create_async_engine(live_stack.config.database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(delete(VisitorTraits).where(VisitorTraits.last_campaign == tag))
        finally:
            await engine.dispose()

    run_sync(clean)


def check_view(page: Page, directory: Path, name: str, found: dict[str, list[str]]) -> None:
    """Every axe violation (any impact) on the page at two sizes; a screenshot of each."""
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(250)
        page.screenshot(path=str(directory / f"{name}-{size}.png"), full_page=True)
        found[f"{name} ({size})"] = [
            f"{v['impact']} {v['id']} ({v['help']}) at {v['nodes']}" for v in axe_violations(page)
        ]
    page.set_viewport_size({"width": 1280, "height": 800})


def live_size(page: Page) -> Any:
    return page.locator(".live-size strong[data-size]")


def condition(page: Page, n: int) -> Any:
    return page.locator(f".condition[data-condition='{n}']")


def test_a_segment_shows_its_live_size_while_it_is_edited(
    browser: Browser, live_stack: Stack, marketer: tuple[str, Rest], traits: str,
    screenshot_dir: Path,
) -> None:  # fmt: skip
    username, rest = marketer
    base_url = live_stack.base_url
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    found: dict[str, list[str]] = {}
    try:
        page.goto(base_url + "/console")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill("console-test-password-1")
        page.get_by_role("button", name="Sign in").click()
        # A marketer's sections: dashboard, campaigns, segments (no inbox).
        nav = page.get_by_role("navigation", name="Sections")
        expect(nav.get_by_role("link", name="Segments")).to_be_visible()
        expect(nav.get_by_role("link", name="Inbox")).to_have_count(0)
        nav.get_by_role("link", name="Segments").click()
        page.get_by_role("link", name="New segment").click()
        expect(condition(page, 0)).to_be_visible()
        page.get_by_label("Name", exact=True).fill(f"Returning from {traits}")
        page.get_by_label("Field of condition 1").select_option("last_campaign")
        page.get_by_label("Operator of condition 1").select_option("eq")
        page.get_by_label("Value of condition 1").fill(traits)
        expect(live_size(page)).to_have_attribute("data-size", "3")
        page.get_by_role("button", name="Add a condition").click()
        page.get_by_label("Field of condition 2").select_option("visits")
        page.get_by_label("Operator of condition 2").select_option("gte")
        page.get_by_label("Value of condition 2").fill("5")
        expect(live_size(page)).to_have_attribute("data-size", "2")
        # "any" of the two: the three again.
        page.get_by_label("Match").select_option("any")
        expect(live_size(page)).to_have_attribute("data-size", "3")
        page.get_by_label("Match").select_option("all")
        expect(live_size(page)).to_have_attribute("data-size", "2")
        # A value out of range: the server's message next to that condition.
        page.get_by_label("Value of condition 2").fill("-4")
        expect(condition(page, 1).locator(".field-error")).to_contain_text("at least 0")
        page.get_by_label("Value of condition 2").fill("5")
        expect(live_size(page)).to_have_attribute("data-size", "2")
        check_view(page, screenshot_dir, "segment-editor", found)
        page.get_by_role("button", name="Save segment").click()
        row = page.locator("tr[data-segment]", has_text=f"Returning from {traits}")
        expect(row).to_be_visible()
        expect(row.locator("td.num")).to_have_text("2")
        check_view(page, screenshot_dir, "segments", found)
        stored = [s for s in rest.ok("GET", "/api/segments")["segments"] if traits in s["name"]]
        assert stored and stored[0]["filter"]["match"] == "all"
    finally:
        context.close()
    assert all(v == [] for v in found.values()), found


def seed_results(database_url: str, campaign_id: int, arms: dict[str, tuple[int, int]]) -> None:
    """What the engine would have stored for ``arms`` = {arm: (exposed, converted)}:
    assignments exposed a day ago and ``campaign_converted`` events (replacing any earlier)."""
    day_ago = utcnow() - timedelta(days=1)

    async def run() -> None:
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as conn:
                prefix = f"res-{campaign_id}-"
                await conn.execute(
                    delete(InteractionEvent).where(InteractionEvent.visitor_id.like(f"{prefix}%"))
                )
                await conn.execute(
                    delete(CampaignAssignment).where(CampaignAssignment.campaign_id == campaign_id)
                )
                assigned: list[dict[str, Any]] = []
                events: list[dict[str, Any]] = []
                for arm, (exposed, converted) in arms.items():
                    for i in range(exposed):
                        unit = f"{prefix}{arm}-{i}"
                        assigned.append({"campaign_id": campaign_id, "unit": unit, "arm": arm,
                                         "assigned_at": day_ago, "first_exposed_at": day_ago,
                                         "exposures": 1})  # fmt: skip
                        if i < converted:
                            events.append({"type": "campaign_converted", "visitor_id": unit,
                                           "data": {"campaign_id": campaign_id, "version": 1,
                                                    "arm": arm, "goal": "reply"},
                                           "created_at": day_ago})  # fmt: skip
                await conn.execute(insert(CampaignAssignment), assigned)
                if events:
                    await conn.execute(insert(InteractionEvent), events)
        finally:
            await engine.dispose()

    run_sync(run)


def fill_variant(page: Page, key: str, text: str) -> None:
    page.locator(f"section[data-variant='{key}']").get_by_label("Opener text").fill(text)


def test_a_campaign_is_checked_started_and_read_on_its_results_page(
    browser: Browser, live_stack: Stack, screenshot_dir: Path
) -> None:
    username = create_agent(live_stack, "Ada", role="admin")
    rest = Rest(live_stack.base_url).login(username)
    base_url = live_stack.base_url
    name = f"Tents {uuid.uuid4().hex[:6]}"
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("dialog", lambda dialog: dialog.accept())
    found: dict[str, list[str]] = {}
    campaign_id = None
    try:
        sign_in(page, base_url, username)
        page.goto(base_url + "/console#/campaigns/new")
        page.get_by_label("Name", exact=True).fill(name)
        fill_variant(page, "A", "Need a hand choosing a tent?")
        page.get_by_role("button", name="Add a variant").click()
        fill_variant(page, "B", "Tents are 10 % off today. Shall I show you?")
        expect(page.locator("[data-split]")).to_have_text("control 10 % · A 45 % · B 45 %")
        # Bad input: a glob that is not a path, a regex that does not compile,
        # weights that do not add up.
        page.get_by_label(re.compile("^Show on URLs")).fill("e2e-no-such-page/*")
        page.get_by_label(re.compile("^URL regular expression")).fill("(tents")
        page.get_by_label(re.compile("^Variant B weight")).fill("30")
        expect(page.locator("p.field-error[data-local]")).to_contain_text("add up to 80 %")
        page.get_by_label(re.compile("^Goal")).select_option("reply")
        page.get_by_role("button", name="Check").click()
        glob = page.locator("label.field", has_text="Show on URLs").locator(".field-error")
        expect(glob).to_contain_text("start with /")
        regex = page.locator("label.field", has_text="URL regular expression").locator(
            ".field-error"
        )
        expect(regex).to_contain_text("does not compile")
        expect(page.locator(".check-result")).to_contain_text("problems")
        check_view(page, screenshot_dir, "campaign-editor-errors", found)
        # The patterns fixed (a page no other test visits: the stack is shared),
        # the weights not yet: now the whole campaign is checked and the
        # allocation refused.
        page.get_by_label(re.compile("^Show on URLs")).fill("/e2e-no-such-page/*")
        page.get_by_label(re.compile("^URL regular expression")).fill("")
        page.get_by_role("button", name="Check").click()
        expect(glob).to_have_count(0)
        expect(
            page.locator("section", has_text="Variants and holdout").locator(
                "p.field-error[role=alert]"
            )
        ).to_contain_text("add up to 1")
        check_view(page, screenshot_dir, "campaign-editor-allocation", found)
        # Fixed: no problems, saved as a draft.
        page.get_by_role("button", name="Split evenly").click()
        page.get_by_role("button", name="Check").click()
        expect(page.locator(".check-result")).to_have_text("No problems found.")
        page.get_by_role("button", name="Save campaign").click()
        page.wait_for_url(re.compile(r"#/campaigns/\d+$"))
        campaign_id = int(page.url.rsplit("/", 1)[1])
        expect(page.locator(".status-line .chip")).to_have_text("draft")
        # The plan before launch.
        page.get_by_role("button", name="Plan", exact=True).click()
        expect(page.locator(".plan-result strong").first).to_have_attribute(
            "data-per-arm", re.compile(r"^\d+$")
        )
        # The preview: the real widget in a sandboxed frame, showing variant A.
        page.get_by_role("button", name="Show preview").click()
        frame = page.frame_locator("iframe.preview-frame")
        expect(frame.locator("#rapport-widget")).to_be_attached()
        widget = page.frame_locator("iframe.preview-frame").locator("#rapport-widget")
        # First the teaser by the launcher, as a visitor sees it on the page ...
        teaser = widget.locator(".teaser")
        expect(teaser.locator(".teaser-text")).to_have_text("Need a hand choosing a tent?")
        expect(widget.locator("[role=dialog]")).to_be_hidden()
        check_view(page, screenshot_dir, "campaign-editor", found)
        # ... and opening it (by keyboard: the frame is scaled down, which
        # Playwright's pointer cannot aim into) shows the chat with the opener.
        teaser.locator(".teaser-body").press("Enter")
        expect(teaser).to_have_count(0)
        expect(widget.locator("[role=dialog]")).to_be_visible()
        expect(
            widget.locator("[role=log] .bubble", has_text="Need a hand choosing a tent?")
        ).to_be_visible()
        # Start: running, its allocation read-only with a New version button.
        page.locator(".status-line").get_by_role("button", name="Start").click()
        expect(page.locator(".status-line .chip")).to_have_text("running")
        expect(page.get_by_label(re.compile("^Variant A weight"))).not_to_be_editable()
        expect(
            page.locator(".status-line").get_by_role("button", name="New version")
        ).to_be_visible()
        stored = rest.ok("GET", f"/api/campaigns/{campaign_id}")
        stored = stored.get("campaign", stored)
        assert stored["status"] == "running"
        assert [v["key"] for v in stored["variants"]] == ["A", "B"]
        # The list.
        page.goto(base_url + "/console#/campaigns")
        row = page.locator(f"tr[data-campaign='{campaign_id}']")
        expect(row.locator(".chip")).to_have_text("running")
        check_view(page, screenshot_dir, "campaigns", found)
        # Results: nobody exposed yet.
        row.get_by_role("link", name="Results").click()
        expect(page.locator(".verdict")).to_have_attribute("data-verdict", "not_enough_data")
        expect(page.locator(".verdict")).to_contain_text("Not enough data yet")
        expect(page.locator("table.arms tbody tr")).to_have_count(3)
        csv = page.get_by_role("link", name="Download CSV")
        assert (
            csv.get_attribute("href") == f"/api/campaigns/{campaign_id}/results.csv?mode=sequential"
        )
        page.get_by_role("button", name="Fixed horizon").click()
        expect(page).to_have_url(re.compile(r"results\?mode=fixed$"))
        expect(csv).to_have_attribute(
            "href", f"/api/campaigns/{campaign_id}/results.csv?mode=fixed"
        )
        check_view(page, screenshot_dir, "campaign-results-empty", found)
        verdict = page.locator(".verdict")
        database_url = live_stack.config.database_url
        # Control got far fewer visitors than its 10 %: the sample ratio check fails.
        seed_results(
            database_url, campaign_id, {"control": (40, 2), "A": (600, 30), "B": (300, 45)}
        )
        page.reload()
        expect(verdict).to_have_attribute("data-verdict", "srm")
        expect(verdict).to_contain_text("Sample ratio mismatch — results are not trustworthy")
        expect(page.locator("[data-srm] .danger-chip").first).to_be_visible()
        # The right shares, the same rates everywhere: no difference yet.
        seed_results(
            database_url, campaign_id, {"control": (200, 10), "A": (900, 45), "B": (900, 46)}
        )
        page.reload()
        expect(verdict).to_have_attribute("data-verdict", "no_difference_yet")
        expect(verdict).to_contain_text("No difference yet")
        # B converts three times as often: the API names it, the page says so.
        seed_results(
            database_url, campaign_id, {"control": (400, 20), "A": (1800, 90), "B": (1800, 270)}
        )
        page.reload()
        expect(verdict).to_have_attribute("data-verdict", "winner")
        expect(verdict).to_contain_text("Winner: B")
        b_row = page.locator("table.arms tr[data-arm='B']")
        expect(b_row).to_contain_text("1,800")
        expect(b_row).to_contain_text("15.00 %")
        expect(page.locator("table.uplift tr[data-arm='B']")).to_contain_text("+10.00 pp")
        # Two variants: the p-value shown is Holm-adjusted.
        expect(page.locator("table.uplift thead")).to_contain_text("p (Holm-adjusted)")
        expect(page.locator("#res-time ~ .chart-box canvas")).to_be_visible()
        check_view(page, screenshot_dir, "campaign-results", found)
    finally:
        context.close()
        if campaign_id is not None:  # the stack is shared: nothing left running
            rest.call("POST", f"/api/campaigns/{campaign_id}/end")
    assert all(v == [] for v in found.values()), found
