"""The analytics dashboard in headless Chromium against the real stack: charts
drawn with data, figures that change live (a visitor's message, a purchase
reported with Rapport.track on the demo store) without a reload, filters, the
CSV export, and a marketer who sees analytics but never a transcript.

Screenshots go to RAPPORT_SCREENSHOT_DIR when set (docs/screenshots/), else to
the test's tmp dir.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from chat_server.services.revenue import conversion_signature
from dev.devstack import Stack
from tests.e2e.axe import assert_accessible
from tests.e2e.console_helpers import PASSWORD, create_agent
from tests.e2e.test_widget_browser import BOT_REPLY_TIMEOUT, LOG, open_chat, open_store, send

pytestmark = [pytest.mark.browser, pytest.mark.stack]

LIVE = 20_000  # ms: analytics_changed is sent at most once a second


@pytest.fixture
def shopper(browser: Browser) -> Iterator[Page]:
    """A visitor on the demo store, in a browser profile of its own."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(base_url + "/console")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def tile(page: Page, kpi: str) -> str:
    return page.locator(f".tile[data-kpi={kpi}] .tile-value").inner_text()


def number(text: str) -> float:
    digits = re.sub(r"[^\d.]", "", text)
    return float(digits) if digits else 0.0


def chat_and_buy(page: Page, base_url: str) -> None:
    open_store(page, base_url)
    open_chat(page)
    send(page, "show me tents")
    expect(page.locator(f"{LOG} .card").first).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
    page.locator(f"{LOG} .card a").first.click()  # a recommendation click
    page.locator("#grid li[id^=product-] .buy").first.click()
    expect(page.locator("#grid .buy-status").first).to_contain_text("Thank you!")


def test_dashboard_draws_charts_and_updates_live(
    page: Page, shopper: Page, browser: Browser, live_stack: Stack, screenshot_dir: Path
) -> None:
    base = live_stack.base_url
    chat_and_buy(shopper, base)
    admin = create_agent(live_stack, "Dana", role="admin")
    sign_in(page, base, admin)
    page.get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(re.compile(r"#/dashboard$"))
    expect(page.get_by_role("heading", name="Analytics")).to_be_visible()
    expect(page.locator(".tile")).to_have_count(18)
    assert number(tile(page, "visitors")) >= 1
    # The demo store reports its purchase from the browser, unsigned: a
    # conversion whose value is shown apart, labelled, never as revenue.
    assert number(tile(page, "revenue_unverified")) > 0
    expect(page.locator(".tile[data-kpi=revenue] .tile-label")).to_have_text("Revenue (verified)")
    expect(page.locator(".tile[data-kpi=revenue_unverified] .tile-label")).to_have_text(
        "Unverified value"
    )
    # Chart.js drew both charts (a blank canvas has no chart instance).
    canvases = page.locator("canvas[role=img]")
    expect(canvases).to_have_count(2)
    expect(canvases.first).to_have_attribute(
        "aria-label", re.compile(r"Per (hour|day): \d+ visitors")
    )
    assert page.evaluate(
        "() => [...document.querySelectorAll('canvas')].every((c) => c.width > 0 && c.height > 0)"
    )
    expect(page.locator("section[aria-labelledby=t-products] tbody tr").first).to_be_visible()
    expect(page.locator(".funnel-steps li")).to_have_count(4)

    # Live, without a reload: a new visitor's message...
    page.evaluate("window.__sameDocument = true")
    conversations = number(tile(page, "conversations"))
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        visitor = other.new_page()
        open_store(visitor, base)
        open_chat(visitor)
        send(visitor, "hi")
        expect(page.locator(".tile[data-kpi=conversations] .tile-value")).not_to_have_text(
            tile(page, "conversations"), timeout=LIVE
        )
        assert number(tile(page, "conversations")) > conversations
        # ...a purchase the browser reports on its own: unverified, capped at 1,000...
        revenue, unverified = tile(page, "revenue"), tile(page, "revenue_unverified")
        order = f"E2E-{uuid.uuid4().hex[:8]}"
        result = visitor.evaluate(
            "(order) => Rapport.track('purchase', {value: 1234.5, currency: 'USD', order_id: order})",
            order,
        )
        assert result == {"ok": True, "duplicate": False, "verified": False}
        expect(page.locator(".tile[data-kpi=revenue_unverified] .tile-value")).not_to_have_text(
            unverified, timeout=LIVE
        )
        assert number(tile(page, "revenue_unverified")) >= number(unverified) + 1000 - 0.01
        assert tile(page, "revenue") == revenue
        # ...and one the shop's backend signed: verified revenue.
        secret = live_stack.config.identity_secret
        assert secret
        signed = f"E2E-{uuid.uuid4().hex[:8]}"
        signature = conversion_signature(secret, signed, "purchase", 1234.5, "USD", None)
        result = visitor.evaluate(
            """([order, signature]) => Rapport.track('purchase',
                 {value: 1234.5, currency: 'USD', order_id: order, signature})""",
            [signed, signature],
        )
        assert result == {"ok": True, "duplicate": False, "verified": True}
        expect(page.locator(".tile[data-kpi=revenue] .tile-value")).not_to_have_text(
            revenue, timeout=LIVE
        )
        assert number(tile(page, "revenue")) >= number(revenue) + 1234.5 - 0.01
    finally:
        other.close()
    assert page.evaluate("window.__sameDocument") is True  # never reloaded

    # CSV export of a table, with the current filters.
    href = page.locator("section[aria-labelledby=t-intents] a", has_text="CSV").get_attribute(
        "href"
    )
    assert href and href.startswith("/api/analytics/tables/intents.csv?from=")
    response = page.request.get(base + href)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text().splitlines()[0] == "intent,messages,share"

    assert_accessible(page, "ul.tiles")  # the key figures, revenue tiles included
    # On a desktop every table shows all its columns without scrolling sideways
    # (a five-column table takes two grid columns).
    products = page.locator("section[aria-labelledby=t-products] .table-scroll")
    expect(products).to_be_visible()
    assert products.evaluate("(el) => el.scrollWidth <= el.clientWidth"), "CTR column cut"
    page.screenshot(path=str(screenshot_dir / "dashboard-desktop.png"), full_page=True)

    # Filters go to the URL and change the figures.
    page.get_by_label("Segment").select_option("identified")
    expect(page).to_have_url(re.compile(r"#/dashboard\?segment=identified$"))
    expect(page.locator(".tile[data-kpi=visitors] .tile-value")).to_have_text(
        re.compile(r"^\d"), timeout=LIVE
    )
    page.get_by_role("button", name="Today").click()
    expect(page).to_have_url(re.compile(r"range=today"))
    page.reload()
    expect(page.get_by_label("Segment")).to_have_value("identified")


def test_marketer_sees_analytics_but_no_transcripts(
    browser: Browser, live_stack: Stack, screenshot_dir: Path
) -> None:
    marketer = create_agent(live_stack, "Mona", role="marketer")
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        sign_in(page, live_stack.base_url, marketer)
        expect(page.get_by_role("heading", name="Analytics")).to_be_visible()
        expect(page.locator(".tile").first).to_be_visible()
        # No inbox, no status, no conversation list: only the figures.
        expect(page.get_by_label("Your status")).to_have_count(0)
        expect(page.locator("a.conv")).to_have_count(0)
        page.goto(live_stack.base_url + "/console#/mine")
        expect(page.get_by_role("heading", name="Analytics")).to_be_visible()
        statuses = page.evaluate(
            """async () => Promise.all(['/api/conversations', '/api/conversations/1',
                 '/api/followups', '/api/analytics/summary'].map(
                 async (path) => (await fetch(path)).status))"""
        )
        assert statuses == [403, 403, 403, 200]
        expect(page.locator("canvas[role=img]").first).to_be_visible()
        assert_accessible(page, "ul.tiles")
        page.screenshot(path=str(screenshot_dir / "dashboard-phone.png"), full_page=True)
    finally:
        context.close()
