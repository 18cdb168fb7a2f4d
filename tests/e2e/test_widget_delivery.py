"""No lost or doubled message in the widget when the network fails mid-send.

The widget's WebSocket goes through Playwright's proxy (`route_web_socket`),
which can swallow a frame and cut the connection — what a phone losing its
signal does — while the real chat server, Rasa and database stay untouched.
Screenshots of the "sending" state go to RAPPORT_SCREENSHOT_DIR when it is set.
"""

from __future__ import annotations

import asyncio
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, WebSocketRoute, expect
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.models import Message
from dev.devstack import Stack
from tests.e2e.test_widget_browser import BOT_REPLY_TIMEOUT, LOG, open_chat, open_store, send

pytestmark = [pytest.mark.browser, pytest.mark.stack]

VIEWPORTS: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 800},
    "phone": {"width": 390, "height": 844},
}


class FlakyNetwork:
    """Passes socket frames through, except one kind it is told to swallow —
    after which it cuts the page's connection."""

    def __init__(self) -> None:
        self.swallow: str | None = None  # "send": a user_uttered; "ack": its ack
        self.routes: list[WebSocketRoute] = []

    def route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        self.routes.append(ws)

        def from_page(message: str | bytes) -> None:
            if self.swallow == "send" and isinstance(message, str) and '"user_uttered"' in message:
                self.swallow = None
                ws.close()  # the frame never left the phone; the line drops
                return
            server.send(message)

        def from_server(message: str | bytes) -> None:
            # An ack is "43<id>[...]" on the default namespace.
            if self.swallow == "ack" and isinstance(message, str) and message.startswith("43"):
                self.swallow = None
                ws.close()  # stored on the server, but the ack is lost with the line
                return
            ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)


def stored_count(database_url: str, text: str) -> int:
    async def count() -> int:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as conn:
                return int(
                    await conn.scalar(
                        select(func.count())
                        .select_from(Message)
                        .where(Message.direction == "visitor", Message.text == text)
                    )
                    or 0
                )
        finally:
            await engine.dispose()

    # Playwright's sync API already runs an event loop in this thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, count()).result()


def visitor_bubbles(page: Page, text: str) -> Locator:
    return page.locator(f"{LOG} .msg-visitor .bubble", has_text=re.compile(f"^{re.escape(text)}$"))


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_message_lost_mid_send_is_delivered_once(
    browser: Browser, live_stack: Stack, base_url: str, viewport: str, tmp_path: Path
) -> None:
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    page.set_default_timeout(30_000)
    network = FlakyNetwork()
    page.route_web_socket(re.compile(r"/socket\.io/"), network.route)
    try:
        open_store(page, base_url)
        open_chat(page)
        send(page, "hello")
        expect(page.locator(f"{LOG} .msg-bot:not(.greeting)").first).to_be_visible(
            timeout=BOT_REPLY_TIMEOUT
        )

        # 1. The frame is lost and the connection drops: the bubble waits as
        #    "sending", then goes out again once the widget has reconnected.
        network.swallow = "send"
        lost = f"what are your shipping costs ({viewport} 1)"
        send(page, lost)
        expect(visitor_bubbles(page, lost)).to_have_count(1)
        directory = Path(os.environ.get("RAPPORT_SCREENSHOT_DIR") or tmp_path)
        directory.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(directory / f"widget-sending-{viewport}.png"))
        expect(page.locator(f"{LOG} .msg-visitor.pending")).to_have_count(0, timeout=30_000)
        expect(visitor_bubbles(page, lost)).to_have_count(1)

        # 2. Stored, but the ack is lost with the line: the retry is recognised
        #    (same client id) and neither stored nor answered twice.
        network.swallow = "ack"
        unacked = f"do you ship to Canada ({viewport} 2)"
        send(page, unacked)
        # The widget may learn that the message is stored from its own echo
        # before the ack is lost: wait for the line to drop and come back.
        for _ in range(120):
            if len(network.routes) >= 3:
                break
            page.wait_for_timeout(250)
        expect(page.locator(f"{LOG} .msg-visitor.pending")).to_have_count(0, timeout=30_000)
        page.wait_for_timeout(1500)  # time for any duplicate to show up
        expect(visitor_bubbles(page, unacked)).to_have_count(1)
        page.screenshot(path=str(directory / f"widget-delivered-{viewport}.png"))

        database_url = live_stack.config.database_url
        assert stored_count(database_url, lost) == 1
        assert stored_count(database_url, unacked) == 1
        # Every bot reply is shown once: message ids on screen are unique.
        mids = page.evaluate(
            "() => [...document.getElementById('rapport-widget').shadowRoot"
            ".querySelectorAll('[data-mid]')].map((n) => n.dataset.mid)"
        )
        assert len(mids) == len(set(mids)), mids
        assert len(network.routes) >= 3  # the line really dropped twice
    finally:
        context.close()


def test_a_message_typed_before_a_reload_is_still_delivered(
    browser: Browser, live_stack: Stack, base_url: str
) -> None:
    context = browser.new_context(viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    page.set_default_timeout(30_000)
    network = FlakyNetwork()
    page.route_web_socket(re.compile(r"/socket\.io/"), network.route)
    try:
        open_store(page, base_url)
        open_chat(page)
        send(page, "hi")
        expect(page.locator(f"{LOG} .msg-bot:not(.greeting)").first).to_be_visible(
            timeout=BOT_REPLY_TIMEOUT
        )
        network.swallow = "send"
        text = "what is your return policy (before reload)"
        send(page, text)
        page.reload()  # the tab is reloaded before the widget could resend
        open_chat(page)
        expect(visitor_bubbles(page, text)).to_have_count(1, timeout=30_000)
        expect(page.locator(f"{LOG} .msg-visitor.pending")).to_have_count(0, timeout=30_000)
        assert stored_count(live_stack.config.database_url, text) == 1
    finally:
        context.close()
