"""The widget's analytics in a real browser: the demo store reports a page view,
the chat window's opening, and a purchase through Rapport.track()."""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from chat_server.services.revenue import conversion_signature
from dev.devstack import Stack
from tests.e2e.test_widget_browser import open_chat, open_store
from tests.integration.helpers import events_of, of_type

pytestmark = [pytest.mark.browser, pytest.mark.stack]


def visitor_id(page: Page) -> str:
    session = page.evaluate("localStorage.getItem('rapport.session_id')")
    assert session, "the widget has no session yet"
    return str(session).split(".")[0]


def logged(stack: Stack, visitor: str, *types: str) -> list[Any]:
    """The visitor's events once all ``types`` are there (they are sent without acks)."""
    deadline = time.monotonic() + 15
    while True:
        # Playwright's sync API already runs an event loop in this thread.
        with ThreadPoolExecutor(1) as pool:
            events = pool.submit(
                asyncio.run, events_of(stack.config.database_url, visitor)
            ).result()
        if set(types) <= {e.type for e in events} or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def test_store_reports_page_view_open_and_purchase(page: Page, live_stack: Stack) -> None:
    base = live_stack.base_url
    page.goto(base + "/?utm_source=spring-mail&utm_medium=email#catalog")
    expect(page.locator("#grid li[id^=product-]").first).to_be_visible()
    page.wait_for_function("() => !!localStorage.getItem('rapport.session_id')")
    open_chat(page)

    buy = page.locator("#grid li[id^=product-] .buy").first
    buy.click()
    expect(page.locator("#grid .buy-status").first).to_have_text(
        re.compile(r"Thank you! Order DEMO-\S+ placed\.")
    )
    events = logged(live_stack, visitor_id(page), "page_view", "widget_opened", "conversion")

    [view] = of_type(events, "page_view")
    assert view["path"] == "/"
    assert (view["utm_source"], view["utm_medium"]) == ("spring-mail", "email")
    assert view["url"] == base + "/?utm_source=spring-mail&utm_medium=email"  # no #fragment
    assert view["title"].startswith("Trailhead Outfitters")
    assert of_type(events, "widget_opened")
    [purchase] = of_type(events, "conversion")
    assert purchase["name"] == "purchase" and purchase["currency"] == "USD"
    assert purchase["value"] > 0 and purchase["order_id"].startswith("DEMO-")


def test_track_api_resolves_once_per_order_and_rejects_bad_calls(
    page: Page, live_stack: Stack
) -> None:
    open_store(page, live_stack.base_url)
    results = page.evaluate(
        """async () => {
          const settle = (p) => p.then((r) => ({ok: r}), (e) => ({error: e}));
          return [
            await settle(Rapport.track("purchase", {value: 49.5, currency: "EUR", order_id: "T-1"})),
            await settle(Rapport.track("purchase", {value: 49.5, currency: "EUR", order_id: "T-1"})),
            await settle(Rapport.track("purchase", {value: "49.5"})),
            await settle(Rapport.track("refund", {value: 1})),
          ];
        }"""
    )
    assert results[0] == {"ok": {"ok": True, "duplicate": False, "verified": False}}
    assert results[1] == {"ok": {"ok": True, "duplicate": True, "verified": False}}
    assert results[2]["error"]["code"] == "invalid_goal"
    assert "value" in results[2]["error"]["message"]
    assert results[3]["error"]["code"] == "unknown_goal"
    events = logged(live_stack, visitor_id(page), "conversion")
    assert [(c["order_id"], c["value"]) for c in of_type(events, "conversion")] == [("T-1", 49.5)]


def test_a_conversion_signed_by_the_shop_is_verified_revenue(page: Page, live_stack: Stack) -> None:
    """The shop's backend signs the order (IDENTITY_SECRET); the page passes the
    signature to Rapport.track(); a tampered value is refused."""
    secret = live_stack.config.identity_secret
    assert secret
    open_store(page, live_stack.base_url)
    signature = conversion_signature(secret, "S-1", "purchase", 79.9, "EUR", None)
    results = page.evaluate(
        """async (signature) => {
          const settle = (p) => p.then((r) => ({ok: r}), (e) => ({error: e}));
          const order = {value: 79.9, currency: "EUR", order_id: "S-1", signature};
          return [
            await settle(Rapport.track("purchase", order)),
            await settle(Rapport.track("purchase", {...order, value: 7990})),
          ];
        }""",
        signature,
    )
    assert results[0] == {"ok": {"ok": True, "duplicate": False, "verified": True}}
    assert results[1]["error"]["code"] == "invalid_goal"
    assert "signature" in results[1]["error"]["message"]
    events = logged(live_stack, visitor_id(page), "conversion")
    [signed] = of_type(events, "conversion")
    assert (signed["order_id"], signed["value"], signed["verified"]) == ("S-1", 79.9, True)
