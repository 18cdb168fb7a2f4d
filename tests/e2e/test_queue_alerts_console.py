"""Queued chats alert every agent who can take one, in a background tab too
(issue 22 §3), and "Earlier conversations" shows true states.

A real chat-server process with Rasa absent (every visitor message asks for a
person), agents picking from the queue themselves (AUTO_ASSIGN=false), the
widget on the demo store, and the console, both in Chromium.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.axe import assert_accessible
from tests.e2e.console_helpers import (
    Rest,
    conversation_item,
    go_online,
    say,
    sign_in,
    visitor_id_of,
    wait_until,
)
from tests.e2e.test_proxy_warning_console import cli_agent
from tests.e2e.test_widget_browser import open_chat, open_store
from tests.support.server_process import ServerProcess, chat_server_process

pytestmark = pytest.mark.browser

# The real Notification, with permission granted by the browser context, wrapped
# to record what the page shows; and a switch that makes the tab a background
# one as far as the page can tell (document.hidden, visibilityState).
BACKGROUND_AND_NOTIFICATIONS = """
window.__notifications = [];
window.__hidden = false;
Object.defineProperty(Document.prototype, "hidden", {get() { return window.__hidden; }});
Object.defineProperty(Document.prototype, "visibilityState",
  {get() { return window.__hidden ? "hidden" : "visible"; }});
const RealNotification = window.Notification;
window.Notification = class extends RealNotification {
  constructor(title, options) {
    window.__notifications.push({title, body: options && options.body});
    super(title, options);
  }
};
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {
        "AUTO_ASSIGN": "false",
        "SERVE_DEMO": "true",
        "QUEUE_ALERT_REPEAT_SECONDS": "5",
        "AGENT_RECONNECT_NOTICE_SECONDS": "1",
    }
    with chat_server_process(tmp_path, env=env) as srv:
        cli_agent(srv.database_url, "agent-sam", "agent")
        yield srv


def console_context(browser: Browser, base: str, phone: bool = False) -> BrowserContext:
    if phone:
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        )
    else:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["notifications"], origin=base)
    context.add_init_script(BACKGROUND_AND_NOTIFICATIONS)
    return context


def to_background(page: Page) -> None:
    page.evaluate(
        "() => { window.__hidden = true; document.dispatchEvent(new Event('visibilitychange')); }"
    )


def notifications(page: Page) -> list[dict[str, str]]:
    return list(page.evaluate("window.__notifications"))


def test_a_queued_chat_alerts_an_agent_in_a_background_tab_until_accepted(
    browser: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    base = server.base
    rest = Rest(base).login("agent-sam")
    desk = console_context(browser, base)
    shopper = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        console = desk.new_page()
        sign_in(console, base, "agent-sam")
        go_online(console, rest)
        to_background(console)

        visitor = shopper.new_page()
        open_store(visitor, base)
        open_chat(visitor)
        say(visitor, "hello, is anyone there?")  # the bot is down: queued for a person
        vid = visitor_id_of(visitor)
        who = f"Visitor {vid[:6]}"

        # The background tab counts it in its title and shows a notification...
        expect(console).to_have_title("(1) Rapport console", timeout=20_000)
        shown = wait_until(lambda: notifications(console), "a desktop notification")
        assert shown[0]["title"] == f"Waiting in the queue: {who}"
        # ... and again while nobody accepts.
        wait_until(lambda: len(notifications(console)) >= 2, "the alert to repeat")
        assert {n["title"] for n in notifications(console)} == {f"Waiting in the queue: {who}"}

        # The agent comes back to the tab: the queued chat is listed, accessibly.
        console.evaluate(
            "() => { window.__hidden = false;"
            " document.dispatchEvent(new Event('visibilitychange')); }"
        )
        console.locator("a.view-tab[data-view=queue]").click()
        item = conversation_item(console, vid)
        expect(item).to_be_visible()
        assert_accessible(console, "nav.sidebar")
        console.screenshot(path=str(screenshot_dir / "console-queue-alert-desktop.png"))

        # Accepting ends the alert: no count in the title any more.
        item.click()
        console.locator(".conv-actions").get_by_role(
            "button", name=re.compile(r"^\s*Accept")
        ).click()
        expect(console).to_have_title("Rapport console")

        # "Earlier conversations" shows what became of a conversation, not
        # what it was when the panel first loaded: resolve it, the visitor
        # writes again, and the new conversation's panel lists it as resolved.
        expect(console.get_by_role("heading", name="Earlier conversations")).to_be_visible()
        first = rest.ok("GET", f"/api/visitors/{vid}/conversations")["conversations"][0]
        rest.ok("POST", f"/api/conversations/{first['id']}/resolve")
        say(visitor, "one more question")
        wait_until(
            lambda: (
                rest.ok("GET", f"/api/visitors/{vid}/conversations")["conversations"][0]["id"]
                != first["id"]
            ),
            "a new conversation",
        )
        console.locator("a.view-tab[data-view=queue]").click()
        conversation_item(console, vid).click()
        history = console.locator("ul.history")
        expect(history.locator(".chip").first).to_have_text("Resolved")

        phone = console_context(browser, base, phone=True)
        try:
            small = phone.new_page()
            sign_in(small, base, "agent-sam")
            # The second chat still waits: the phone console counts it too.
            expect(small).to_have_title("(1) Rapport console", timeout=20_000)
            small.locator("a.view-tab[data-view=queue]").click()
            expect(conversation_item(small, vid)).to_be_visible()
            small.screenshot(path=str(screenshot_dir / "console-queue-alert-phone.png"))
            assert_accessible(small, "nav.sidebar")
        finally:
            phone.close()

        # The agent takes the second chat, then their console closes: the
        # visitor is told the agent is reconnecting instead of waiting in silence.
        second = rest.ok("GET", f"/api/visitors/{vid}/conversations")["conversations"][0]
        rest.ok("POST", f"/api/conversations/{second['id']}/accept")
        expect(visitor.get_by_text("Agent-Sam joined the chat").last).to_be_visible()
        console.close()
        expect(visitor.get_by_text(re.compile("Agent-Sam lost their connection"))).to_be_visible(
            timeout=20_000
        )
        visitor.screenshot(path=str(screenshot_dir / "widget-agent-reconnecting.png"))
    finally:
        desk.close()
        shopper.close()
