"""Live visitors in the console: a shopper on the demo store shows up with the
page they are on, and an agent starts a chat with them in one click; the
shopper's widget shows the agent's message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from dev.devstack import Stack
from tests.e2e.console_helpers import WIDGET, Rest, create_agent, sign_in, visitor_id_of
from tests.e2e.test_dashboard import shopper  # noqa: F401 - fixture
from tests.e2e.test_widget_browser import LOG, open_store

pytestmark = [pytest.mark.browser, pytest.mark.stack]

LIVE = 20_000


def test_agent_sees_a_live_visitor_and_starts_a_chat(
    page: Page,
    shopper: Page,  # noqa: F811 - the fixture imported above
    browser: Browser,
    live_stack: Stack,
    screenshot_dir: Path,
) -> None:
    open_store(shopper, live_stack.base_url)
    visitor = visitor_id_of(shopper)
    username = create_agent(live_stack, "Lena")
    rest = Rest(live_stack.base_url).login(username)
    try:
        sign_in(page, live_stack.base_url, username)
        page.get_by_role("link", name="Visitors").click()
        expect(page.get_by_role("heading", name="Visitors on the site")).to_be_visible()
        card = page.locator(f".visitor-card[data-visitor='{visitor}']")
        expect(card).to_be_visible(timeout=LIVE)
        expect(card.locator(".vc-title")).to_have_text(
            re.compile("Trailhead Outfitters"), timeout=LIVE
        )
        expect(card.locator(".tag-new")).to_be_visible()
        expect(card).to_contain_text("Not chatting")
        page.screenshot(path=str(screenshot_dir / "live-visitors-desktop.png"), full_page=True)

        card.get_by_role("button", name="Start chat").click()
        card.get_by_label(re.compile("First message")).fill(
            "Hi! Looking for anything in particular?"
        )
        card.get_by_role("button", name="Send").click()
        expect(page).to_have_url(re.compile(r"#/c/\d+$"))
        expect(page.locator(".transcript[role=log]")).to_contain_text(
            "Looking for anything in particular?"
        )
        # The shopper sees it, live, in the widget (it opens or shows a badge).
        shopper.locator(f"{WIDGET} .launcher").click()
        expect(shopper.locator(f"{LOG} .msg-agent").last).to_contain_text(
            "Looking for anything in particular?", timeout=LIVE
        )

        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
        try:
            small = phone.new_page()
            sign_in(small, live_stack.base_url, username)
            small.goto(live_stack.base_url + "/console#/live")
            mine = small.locator(f".visitor-card[data-visitor='{visitor}']")
            expect(mine).to_contain_text("With Lena", timeout=LIVE)
            small.screenshot(path=str(screenshot_dir / "live-visitors-phone.png"), full_page=True)
        finally:
            phone.close()
    finally:
        rest.clean_up()
