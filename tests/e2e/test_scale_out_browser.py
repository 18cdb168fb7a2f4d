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
    browser: Browser, cluster: Stack, cluster_redis: RedisServer, phone_visitor: Page,
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
