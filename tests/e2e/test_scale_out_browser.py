"""Two chat-server nodes in real browsers: the visitor's widget (a phone) on
node A, the agent's console (a desktop) on node B, and Redis restarted in the
middle of their chat — both screens catch up without a reload."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from dev.devstack import Stack
from tests.e2e.console_helpers import (
    Rest,
    conversation_item,
    create_agent,
    go_online,
    say,
    sign_in,
    transcript,
    visitor_id_of,
)
from tests.e2e.test_console import new_agent_page
from tests.e2e.test_widget_browser import BOT_REPLY_TIMEOUT, LOG, open_chat, open_store
from tests.support.redis_server import RedisServer

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.postgres]

# Nodes resubscribe to Redis within a few seconds of its return (transport/cluster.py).
CATCH_UP = 30_000


@pytest.fixture
def phone_visitor(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def test_widget_and_console_on_different_nodes_through_a_redis_restart(
    browser: Browser,
    cluster: Stack,
    cluster_redis: RedisServer,
    phone_visitor: Page,
    screenshot_dir: Path,
) -> None:
    node_a, node_b = cluster.config.chat_urls
    username = create_agent(cluster, "Nora", max_chats=10)
    rest = Rest(node_b).login(username)
    context, console = new_agent_page(browser)
    try:
        with context:
            sign_in(console, node_b, username)
            go_online(console, rest)

            visitor = phone_visitor
            open_store(visitor, node_a)
            open_chat(visitor)
            say(visitor, "hi")
            expect(visitor.locator(f"{LOG} .msg-bot").first).to_be_visible(
                timeout=BOT_REPLY_TIMEOUT
            )
            vid = visitor_id_of(visitor)
            say(visitor, "I want to talk to a human")

            item = conversation_item(console, vid)
            expect(item).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
            item.click()
            expect(console.locator(".conv-header .chip")).to_have_text("Assigned to you")
            box = console.get_by_label(re.compile("^Reply to"))
            box.fill("Hi, Nora here, on node B.")
            box.press("Enter")
            agent_bubbles = visitor.locator(f"{LOG} .msg-agent .bubble")
            expect(agent_bubbles.last).to_have_text("Hi, Nora here, on node B.")

            cluster_redis.stop()
            box.fill("Sent while Redis was down.")
            box.press("Enter")
            log = transcript(console)
            expect(log.locator(".msg-agent .bubble").last).to_have_text(
                "Sent while Redis was down."
            )
            say(visitor, "Typed while Redis was down")
            cluster_redis.start()

            # Neither page reloads: the nodes say "resync" and both catch up.
            expect(agent_bubbles.last).to_have_text("Sent while Redis was down.", timeout=CATCH_UP)
            expect(log.locator(".msg-visitor .bubble").last).to_have_text(
                "Typed while Redis was down", timeout=CATCH_UP
            )
            expect(agent_bubbles).to_have_count(2)  # each message once
            # Node B knows again that the visitor is online on node A.
            presence = console.locator(".visitor-panel").get_by_test_id("visitor-presence")
            expect(presence).to_have_text("Online now", timeout=CATCH_UP)
            visitor.screenshot(path=str(screenshot_dir / "scale-out-widget-phone.png"))
            console.screenshot(path=str(screenshot_dir / "scale-out-console-desktop.png"))
    finally:
        rest.clean_up()


def test_both_sides_writing_through_a_redis_restart_miss_nothing_on_screen(
    browser: Browser,
    cluster: Stack,
    cluster_redis: RedisServer,
    phone_visitor: Page,
) -> None:
    """Both keep writing while Redis is down and right after it is back (so live
    delivery resumes before `resync`): the widget shows every agent message and
    the console every visitor message, once each and in order, without a reload.
    The agent's own messages sent meanwhile must not hide the visitor's."""
    node_a, node_b = cluster.config.chat_urls
    username = create_agent(cluster, "Omar", max_chats=10)
    rest = Rest(node_b).login(username)
    context, console = new_agent_page(browser)
    try:
        with context:
            sign_in(console, node_b, username)
            go_online(console, rest)
            visitor = phone_visitor
            open_store(visitor, node_a)
            open_chat(visitor)
            say(visitor, "I want to talk to a human")
            vid = visitor_id_of(visitor)
            item = conversation_item(console, vid)
            expect(item).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
            item.click()
            expect(console.locator(".conv-header .chip")).to_have_text("Assigned to you")
            box = console.get_by_label(re.compile("^Reply to"))
            log = transcript(console)
            agent_bubbles = visitor.locator(f"{LOG} .msg-agent .bubble")
            visitor_bubbles = log.locator(".msg-visitor .bubble")

            def agent(text: str) -> None:
                box.fill(text)
                box.press("Enter")
                expect(log.locator(".msg-agent .bubble").last).to_have_text(text)

            agent("A0 before")
            expect(agent_bubbles.last).to_have_text("A0 before")

            cluster_redis.stop()
            say(visitor, "V1 during")
            console.wait_for_timeout(300)
            agent("A1 during")
            say(visitor, "V2 during")
            console.wait_for_timeout(300)
            agent("A2 during")
            cluster_redis.start()
            # Straight away and for a while: some of these go out live before `resync`.
            for n in range(3, 8):
                agent(f"A{n} after")
                console.wait_for_timeout(700)
            say(visitor, "V3 after")

            agents = ["A0 before", "A1 during", "A2 during", *[f"A{n} after" for n in range(3, 8)]]
            expect(agent_bubbles).to_have_text(agents, timeout=CATCH_UP)
            visitors = ["I want to talk to a human", "V1 during", "V2 during", "V3 after"]
            expect(visitor_bubbles).to_have_text(visitors, timeout=CATCH_UP)
            console.wait_for_timeout(1500)  # nothing late or repeated shows up after
            expect(agent_bubbles).to_have_text(agents)
            expect(visitor_bubbles).to_have_text(visitors)
    finally:
        rest.clean_up()
