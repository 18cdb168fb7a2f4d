"""An admin adds a webhook in the console, sees its secret once, sends a test
and watches the delivery log fill with what a real receiver got."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from playwright.sync_api import Browser, Page, expect

from dev.devstack import Stack
from tests.e2e.console_helpers import create_agent, sign_in
from tests.e2e.test_widget_browser import open_chat, open_store, send

pytestmark = [pytest.mark.browser, pytest.mark.stack]

LIVE = 20_000


class Hook(BaseHTTPRequestHandler):
    # What every request carried; the handler is built per request, so class-wide.
    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Hook.received.append((self.headers.get("X-Rapport-Event", ""), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def hook_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def test_admin_adds_a_webhook_and_sees_deliveries(
    page: Page, browser: Browser, live_stack: Stack, hook_url: str, screenshot_dir: Path
) -> None:
    admin = create_agent(live_stack, "Wes", role="admin")
    sign_in(page, live_stack.base_url, admin)
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
    page.get_by_label("Endpoint URL").fill(hook_url)
    page.get_by_label("message.created").check()
    page.get_by_role("button", name="Add webhook").click()
    secret = page.locator(".secret-box code")
    expect(secret).to_have_text(re.compile(r"^whsec_\S{20,}$"))
    item = page.locator(".wh-item", has_text=hook_url)
    expect(item).to_be_visible()

    item.get_by_role("button", name="Send test").click()
    item.get_by_role("button", name="Delivery log").click()
    expect(page.locator("tr[data-status=delivered]", has_text="ping")).to_be_visible(timeout=LIVE)

    # A visitor chats: conversation.created and message.created reach the receiver.
    visitor = browser.new_context().new_page()
    open_store(visitor, live_stack.base_url)
    open_chat(visitor)
    send(visitor, "hello webhooks")
    for _ in range(40):
        page.get_by_role("button", name="Refresh").click()
        if page.locator("tr[data-status=delivered]", has_text="message.created").count():
            break
        page.wait_for_timeout(500)
    delivered = page.locator("tr[data-status=delivered]", has_text="message.created")
    expect(delivered.first).to_be_visible()
    assert any(
        topic == "message.created" and b"hello webhooks" in body for topic, body in Hook.received
    )
    page.get_by_role("button", name="Done").click()
    page.screenshot(path=str(screenshot_dir / "webhooks-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshot_dir / "webhooks-phone.png"), full_page=True)
    visitor.context.close()
