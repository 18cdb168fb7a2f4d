"""Proactive campaigns in the widget (issue 24 §2 "Manners", "Site-driven
triggers"): a real chat-server process (the production entry point) serving
the demo store, a running campaign in its database, the widget and, for an
agent's opener, the console — all in Chromium, at 1280x800 and at 390x844.

The flow under test is the real one: the widget reports its page view, the
server answers `campaign_watch`, the widget watches the page (active time)
and sends `campaign_ready`, the engine fires and sends the opener
(`bot_uttered`) and `campaign_shown`, and the widget shows the teaser.

Rasa is absent here: an agent's opener and an NPS survey need no bot. The
bot opener with its experiment (reply, conversion credited to the variant,
a control visitor counted) is tests/e2e/test_campaign_flow.py, on the full stack.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from dev.devstack import ROOT
from tests.e2e.axe import axe_violations
from tests.e2e.console_helpers import PASSWORD, Rest, go_online, sign_in, wait_until
from tests.e2e.test_widget_browser import LAUNCHER, LOG, shadow_eval
from tests.support.campaigns import add_campaign, campaign_events
from tests.support.server_process import ServerProcess, chat_server_process

pytestmark = pytest.mark.browser

TEASER = "#rapport-widget .teaser"
ANNOUNCER = "#rapport-widget .teaser-announcer"
ACTIVE_SECONDS = 3
OPENER = "Hi! I'm Sam from the trail team. Planning a hike this weekend? I can help you pick gear."
REPLIES = ["Yes, please", "Just browsing"]
QUESTION = "How likely are you to recommend Trailhead Outfitters to a friend?"

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
SIZES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": VIEWPORTS["desktop"]},
    # Reduced motion on the phone: the teaser must then appear without animation.
    "phone": {
        "viewport": VIEWPORTS["phone"],
        "is_mobile": True,
        "has_touch": True,
        "reduced_motion": "reduce",
    },
}


def run(coro_factory: Callable[[], Any]) -> Any:
    """An async database helper, run in a thread (Playwright's sync API owns this one's loop)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(lambda: asyncio.run(coro_factory())).result()


def cli_agent(database_url: str, username: str, display_name: str, role: str = "agent") -> None:
    subprocess.run(
        [
            sys.executable, "-m", "chat_server", "create-agent", "--username", username,
            "--display-name", display_name, "--password", PASSWORD, "--role", role,
            "--max-chats", "5", "--database-url", database_url,
        ],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with chat_server_process(tmp_path, env={"SERVE_DEMO": "true", "AUTO_ASSIGN": "false"}) as srv:
        yield srv


class Frames:
    """The Socket.IO events a page sent and received (its WebSocket frames)."""

    def __init__(self, page: Page) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.received: list[tuple[str, Any]] = []
        # When each sent event reached this test (monotonic; Playwright hands
        # frames over during its calls, so at or after the real moment).
        self.sent_at: list[tuple[str, float]] = []
        page.on("websocket", self._attach)

    def _attach(self, ws: Any) -> None:
        ws.on("framesent", lambda payload: self._add(self.sent, payload, self.sent_at))
        ws.on("framereceived", lambda payload: self._add(self.received, payload))

    @staticmethod
    def _add(
        into: list[tuple[str, Any]], payload: Any, times: list[tuple[str, float]] | None = None
    ) -> None:
        text = payload if isinstance(payload, str) else bytes(payload).decode(errors="replace")
        match = re.match(r"^42(\d*)(\[.*)$", text, re.S)  # an event, possibly with an ack id
        if match:
            event = json.loads(match.group(2))
            into.append((event[0], event[1] if len(event) > 1 else None))
            if times is not None:
                times.append((event[0], time.monotonic()))

    def events(self, name: str, sent: bool = True) -> list[Any]:
        return [data for event, data in (self.sent if sent else self.received) if event == name]


def wait_for(page: Page, predicate: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    """Poll ``predicate`` while Playwright runs (its sync API delivers frame events
    only inside its own calls, never during time.sleep)."""
    for _ in range(int(timeout * 10)):
        value = predicate()
        if value:
            return value
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what}")


def visitor_page(browser: Browser, size: str) -> tuple[BrowserContext, Page, Frames]:
    context = browser.new_context(**SIZES[size])
    page = context.new_page()
    page.set_default_timeout(20_000)
    return context, page, Frames(page)


def visitor_id(page: Page) -> str:
    page.wait_for_function("() => !!localStorage.getItem('rapport.session_id')")
    return str(page.evaluate("localStorage.getItem('rapport.session_id')")).split(".")[0]


def assert_teaser_waits_then_appears(page: Page, frames: Frames, base: str) -> None:
    """Not before the page has been visible ACTIVE_SECONDS, then once, politely.

    The page's visible time counts from its load, before the watch arrives
    (campaign_watch.js), so "too early" is measured from the navigation: on
    a loaded machine the watch itself can arrive seconds after it."""
    started = time.monotonic()
    page.goto(base + "/")
    expect(page.locator(LAUNCHER)).to_be_visible()
    wait_for(page, lambda: frames.events("campaign_watch", sent=False), "campaign_watch")
    if time.monotonic() - started < ACTIVE_SECONDS / 2:
        page.wait_for_timeout(ACTIVE_SECONDS * 1000 // 4)
        expect(page.locator(TEASER)).to_have_count(0)
    expect(page.locator(TEASER)).to_be_visible(timeout=(ACTIVE_SECONDS + 10) * 1000)
    ready = frames.events("campaign_ready")
    assert len(ready) == 1, ready
    sent_at = next(at for name, at in frames.sent_at if name == "campaign_ready")
    assert sent_at - started >= ACTIVE_SECONDS, sent_at - started
    watch = frames.events("campaign_watch", sent=False)[0]
    assert ready[0]["campaign_id"] == watch["campaign_id"]
    assert ready[0]["token"] == watch["token"]
    # Announced through the polite live region, without taking focus.
    expect(page.locator(ANNOUNCER)).to_have_attribute("aria-live", "polite")
    assert page.evaluate("document.activeElement === document.body")


def assert_accessible_teaser(page: Page, size: str) -> None:
    found = axe_violations(page, "#rapport-widget")
    assert found == [], f"axe-core ({size}): {found}"
    box = page.locator(TEASER).bounding_box()
    launcher = page.locator(LAUNCHER).bounding_box()
    viewport = VIEWPORTS[size]
    assert box is not None and launcher is not None
    # By the launcher, inside the viewport, narrow enough to leave the page readable.
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    assert box["y"] + box["height"] <= launcher["y"]
    assert box["width"] <= 340
    animation = shadow_eval(
        page, "return getComputedStyle(root.querySelector('.teaser')).animationName"
    )
    assert animation == ("none" if size == "phone" else "rapport-teaser-in")


def assert_visible_focus(page: Page) -> None:
    outline = shadow_eval(
        page,
        "const s = getComputedStyle(root.activeElement); return [s.outlineStyle, s.outlineWidth];",
    )
    assert outline[0] != "none" and outline[1] != "0px", outline


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_agent_opener_teaser_announced_keyboard_dismissible_and_remembered(
    browser: Browser, server: ServerProcess, screenshot_dir: Path, size: str
) -> None:
    base = server.base
    cli_agent(server.database_url, "agent-sam", "Sam")
    rest = Rest(base).login("agent-sam")
    desk = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        console = desk.new_page()
        sign_in(console, base, "agent-sam")
        go_online(console, rest)
        campaign_id = run(
            lambda: add_campaign(
                server.database_url,
                kind="agent",
                agent_id=rest.me["id"],
                rules={"url_include": [base + "/"], "active_seconds": ACTIVE_SECONDS},
                variants=[
                    {
                        "key": "A",
                        "weight": 1.0,
                        "content": {"text": OPENER, "quick_replies": REPLIES},
                    }
                ],
                goal={"type": "reply", "window_hours": 24},
            )
        )
        context, page, frames = visitor_page(browser, size)
        try:
            assert_teaser_waits_then_appears(page, frames, base)
            teaser = page.locator(TEASER)
            expect(teaser.locator(".teaser-text")).to_have_text(OPENER)
            expect(teaser.locator(".teaser-from")).to_have_text("Sam")  # the agent, by name
            expect(page.locator(ANNOUNCER)).to_contain_text(f"New message from Sam: {OPENER}")
            for title in REPLIES:
                expect(teaser.get_by_role("button", name=title)).to_be_visible()
            shown = frames.events("campaign_shown", sent=False)
            assert [s["campaign_id"] for s in shown] == [campaign_id]
            assert_accessible_teaser(page, size)

            # Keyboard: Shift+Tab from the launcher reaches the teaser (its Dismiss button first), with a visible focus ring.
            page.locator(LAUNCHER).focus()
            page.keyboard.press("Shift+Tab")
            expect(teaser.get_by_role("button", name="Dismiss")).to_be_focused()
            assert_visible_focus(page)
            page.keyboard.press("Shift+Tab")
            expect(teaser.get_by_role("button", name=REPLIES[-1])).to_be_focused()
            page.screenshot(path=str(screenshot_dir / f"widget-teaser-{size}.png"))

            # Escape dismisses: focus goes back to the launcher, the server and this browser remember it.
            page.keyboard.press("Escape")
            expect(teaser).to_have_count(0)
            expect(page.locator(LAUNCHER)).to_be_focused()
            wait_for(page, lambda: frames.events("campaign_dismissed"), "campaign_dismissed")
            assert frames.events("campaign_dismissed") == [{"campaign_id": campaign_id}]
            vid = visitor_id(page)
            wait_until(
                lambda: any(
                    e.type == "campaign_dismissed"
                    for e in run(lambda: campaign_events(server.database_url, vid))
                ),
                "the dismissal stored",
            )
            stored = page.evaluate(
                "JSON.parse(localStorage.getItem('rapport.campaigns_dismissed'))"
            )
            assert str(campaign_id) in stored

            # The next page: no teaser again.
            page.reload()
            expect(page.locator(LAUNCHER)).to_be_visible()
            page.wait_for_timeout((ACTIVE_SECONDS + 2) * 1000)
            expect(page.locator(TEASER)).to_have_count(0)
        finally:
            context.close()

        # Another visitor answers with a quick reply in the teaser: the chat opens with the opener once.
        context, page, frames = visitor_page(browser, size)
        try:
            page.goto(base + "/")
            teaser = page.locator(TEASER)
            expect(teaser).to_be_visible(timeout=(ACTIVE_SECONDS + 10) * 1000)
            teaser.get_by_role("button", name=REPLIES[0]).click()
            expect(page.locator("#rapport-widget [role=dialog]")).to_be_visible()
            expect(teaser).to_have_count(0)
            expect(page.locator(f"{LOG} .bubble", has_text=OPENER)).to_have_count(1)
            # An agent's message, and the widget knows it is talking with Sam:
            # the reply goes to Sam, with no "assistant is typing" dots.
            expect(page.locator(f"{LOG} .msg-agent .bubble", has_text=OPENER)).to_have_count(1)
            expect(page.locator("#rapport-widget .subtitle")).to_have_text("Chatting with Sam")
            expect(page.locator(f"{LOG} .msg-visitor .bubble").last).to_have_text(REPLIES[0])
            expect(page.locator("#rapport-widget .typing")).to_be_hidden()
            wait_for(
                page,
                lambda: any(u.get("message") == REPLIES[0] for u in frames.events("user_uttered")),
                "the reply sent",
            )
            assert frames.events("campaign_dismissed") == []
            page.screenshot(path=str(screenshot_dir / f"widget-teaser-opened-{size}.png"))
        finally:
            context.close()
    finally:
        desk.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_nps_teaser_scale_by_keyboard_and_thanks(
    browser: Browser, server: ServerProcess, screenshot_dir: Path, size: str
) -> None:
    base = server.base
    campaign_id = run(
        lambda: add_campaign(
            server.database_url,
            kind="nps",
            rules={"url_include": [base + "/"], "active_seconds": ACTIVE_SECONDS},
            variants=[{"key": "A", "weight": 1.0, "content": {"question": QUESTION}}],
            goal={"type": "nps", "window_hours": 72},
        )
    )
    context, page, frames = visitor_page(browser, size)
    try:
        assert_teaser_waits_then_appears(page, frames, server.base)
        teaser = page.locator(TEASER)
        expect(teaser.locator(".nps-question")).to_have_text(QUESTION)
        expect(page.locator(ANNOUNCER)).to_contain_text(QUESTION)
        scale = teaser.get_by_role("group", name=QUESTION)
        expect(scale.get_by_role("button")).to_have_count(11)
        expect(scale.get_by_role("button", name="0, not at all likely")).to_be_visible()
        expect(scale.get_by_role("button", name="10, extremely likely")).to_be_visible()
        expect(teaser).to_contain_text("0 = not at all likely")
        expect(teaser).to_contain_text("10 = extremely likely")
        assert_accessible_teaser(page, size)
        page.screenshot(path=str(screenshot_dir / f"widget-nps-{size}.png"))

        # Keyboard: from the launcher back through Dismiss to 10, then 9; Enter answers.
        page.locator(LAUNCHER).focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Shift+Tab")
        expect(scale.get_by_role("button", name="9", exact=True)).to_be_focused()
        assert_visible_focus(page)
        page.keyboard.press("Enter")
        expect(teaser).to_contain_text("Thank you for your answer!")
        expect(page.locator(ANNOUNCER)).to_have_text("Thank you for your answer!")
        # The scale is gone; focus stayed in the teaser.
        expect(teaser.get_by_role("button", name="Dismiss")).to_be_focused()
        wait_for(page, lambda: frames.events("nps_submitted"), "nps_submitted")
        assert frames.events("nps_submitted") == [{"campaign_id": campaign_id, "score": 9}]
        vid = visitor_id(page)
        stored = wait_until(
            lambda: [
                e
                for e in run(lambda: campaign_events(server.database_url, vid))
                if e.type == "nps_submitted"
            ],
            "the answer stored",
        )
        assert stored[0].data["score"] == 9
        assert_accessible_teaser(page, size)
        page.screenshot(path=str(screenshot_dir / f"widget-nps-thanks-{size}.png"))
        # Closing the thanks is not a dismissal.
        page.keyboard.press("Escape")
        expect(teaser).to_have_count(0)
        assert frames.events("campaign_dismissed") == []
    finally:
        context.close()


def test_site_trigger_is_sent_and_debounced(browser: Browser, server: ServerProcess) -> None:
    """Rapport.trigger(name, data) reaches the server as `site_trigger`; the
    same name within a second is not sent again; bad names are refused here."""
    context, page, frames = visitor_page(browser, "desktop")
    try:
        page.goto(server.base + "/")
        expect(page.locator(LAUNCHER)).to_be_visible()
        results = page.evaluate(
            """() => [
                Rapport.trigger("added_to_cart", {sku: "TENT-2"}),
                Rapport.trigger("added_to_cart", {sku: "TENT-3"}),
                Rapport.trigger("9lives"),
                Rapport.trigger("viewed_size_chart"),
            ]"""
        )
        assert results == [True, False, False, True]
        wait_for(page, lambda: len(frames.events("site_trigger")) >= 2, "site_trigger frames")
        page.wait_for_timeout(300)
        sent = frames.events("site_trigger")
        assert [(s["name"], s.get("data")) for s in sent] == [
            ("added_to_cart", {"sku": "TENT-2"}),
            ("viewed_size_chart", None),
        ]
        page.wait_for_timeout(1100)
        assert page.evaluate("() => Rapport.trigger('added_to_cart')") is True
    finally:
        context.close()
