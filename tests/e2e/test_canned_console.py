"""Canned-response variables in the console (issue 22 §4): the "/" picker
previews the response as the visitor will read it, inserts that text, and the
visitor receives it without braces.

A real chat-server process with Rasa absent (the visitor asks for a person),
the widget on the demo store and the console, both in Chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

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

TEMPLATE = "Hi {{contact.name|there}}, {{agent.name}} here."
RENDERED = "Hi there, Agent-Sam here."


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with chat_server_process(tmp_path, env={"AUTO_ASSIGN": "false", "SERVE_DEMO": "true"}) as srv:
        cli_agent(srv.database_url, "agent-sam", "agent")
        yield srv


def open_picker(page: Page, vid: str) -> None:
    conversation_item(page, vid).click()
    box = page.locator("#composer-input")
    box.click()
    box.press_sequentially("/hi")
    expect(page.locator("#canned-suggestions .canned-text")).to_have_text(RENDERED)


def test_the_canned_picker_previews_the_rendered_text_and_the_visitor_gets_it(
    browser: Browser, server: ServerProcess, screenshot_dir: Path
) -> None:
    base = server.base
    rest = Rest(base).login("agent-sam")
    rest.ok("POST", "/api/canned-responses", {"shortcut": "hi", "text": TEMPLATE})
    desk = browser.new_context(viewport={"width": 1280, "height": 800})
    shopper = browser.new_context(viewport={"width": 1280, "height": 800})
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        console = desk.new_page()
        sign_in(console, base, "agent-sam")
        go_online(console, rest)

        visitor = shopper.new_page()
        open_store(visitor, base)
        open_chat(visitor)
        say(visitor, "hello, is anyone there?")  # the bot is down: queued for a person
        vid = visitor_id_of(visitor)
        conversation = wait_until(
            lambda: rest.ok("GET", f"/api/visitors/{vid}/conversations")["conversations"],
            "the conversation",
        )[0]
        rest.ok("POST", f"/api/conversations/{conversation['id']}/accept")

        # The picker shows the response filled in for this visitor (no name
        # yet: the fallback) and for the agent sending it.
        open_picker(console, vid)
        assert_accessible(console, "form.composer")
        console.screenshot(path=str(screenshot_dir / "console-canned-preview-desktop.png"))
        box = console.locator("#composer-input")
        box.press("Tab")
        expect(box).to_have_value(RENDERED)
        box.press("Enter")
        expect(visitor.get_by_text(RENDERED)).to_be_visible(timeout=20_000)
        assert "{{" not in visitor.locator("body").inner_text()

        small = phone.new_page()
        sign_in(small, base, "agent-sam")
        open_picker(small, vid)
        assert_accessible(small, "form.composer")
        small.screenshot(path=str(screenshot_dir / "console-canned-preview-phone.png"))
    finally:
        phone.close()
        desk.close()
        shopper.close()
