"""The console's "Mail (development)" page: an admin of a server started with
DEV_MAIL_CATCHER_PORT (as ``make run`` does) reads what the local mail catcher
caught — the list, the headers, the plain text and the HTML part in a
sandboxed frame. A server without the catcher shows no such page.

Real chat-server processes (Rasa is not needed) and Chromium; every connection
goes to 127.0.0.1.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from dev.devstack import free_port
from tests.e2e.axe import assert_accessible
from tests.e2e.console_helpers import sign_in
from tests.e2e.test_proxy_warning_console import cli_agent
from tests.support.server_process import chat_server_process

pytestmark = pytest.mark.browser

SUBJECT = "Please confirm your newsletter subscription"
BODY = "Hello Ada,\n\nPress the link below to confirm: http://127.0.0.1/email/confirm?token=abc\n"
HTML_BODY = (
    "<p>Hello <strong>Ada</strong>, <a href='http://127.0.0.1/email/confirm'>confirm</a>.</p>"
)


def catch_one_mail(port: int) -> None:
    """Hand one message (plain and HTML parts) to the catcher on 127.0.0.1."""
    msg = EmailMessage()
    msg["From"] = "Rapport <shop@example.test>"
    msg["To"] = "ada@example.test"
    msg["Subject"] = SUBJECT
    msg.set_content(BODY)
    msg.add_alternative(HTML_BODY, subtype="html")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(msg)


@pytest.fixture
def catcher_server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {"DEV_MAIL_CATCHER_PORT": str(port), "SMTP_URL": f"smtp://127.0.0.1:{port}"}
    with chat_server_process(tmp_path, env) as srv:
        cli_agent(srv.database_url, "admin-ada", "admin")
        yield srv.base, port


@pytest.fixture
def plain_server(tmp_path: Path) -> Iterator[str]:
    with chat_server_process(tmp_path) as srv:
        cli_agent(srv.database_url, "admin-ada", "admin")
        yield srv.base


def open_mail(page: Page) -> None:
    page.get_by_role("link", name="Mail (dev)").click()
    expect(page.get_by_role("heading", name="Mail (development)")).to_be_visible()


def test_admin_reads_caught_mail(
    browser: Browser, catcher_server: tuple[str, int], screenshot_dir: Path
) -> None:
    base, port = catcher_server
    desktop = browser.new_context(viewport={"width": 1280, "height": 800})
    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    try:
        page = desktop.new_page()
        sign_in(page, base, "admin-ada")
        open_mail(page)
        expect(page.get_by_text("No mail caught yet.")).to_be_visible()
        assert_accessible(page, "main")
        page.screenshot(path=str(screenshot_dir / "dev-mail-empty-desktop.png"))

        catch_one_mail(port)
        page.get_by_role("button", name="Refresh").click()
        item = page.locator("button.mail-item", has_text=SUBJECT)
        expect(item).to_be_visible()
        expect(item).to_contain_text("ada@example.test")
        expect(item).to_have_attribute("aria-pressed", "true")
        detail = page.locator(".mail-detail")
        expect(detail.get_by_role("heading", name=SUBJECT)).to_be_visible()
        expect(detail.locator(".mail-headers")).to_contain_text("shop@example.test")
        expect(detail.locator("pre.mail-text")).to_contain_text("Press the link below to confirm")
        assert_accessible(page, "main")
        page.screenshot(path=str(screenshot_dir / "dev-mail-desktop.png"), full_page=True)

        # The HTML part: in a sandboxed frame from srcdoc, never in the console's own page.
        detail.get_by_role("button", name="HTML").click()
        frame = detail.locator("iframe.mail-html")
        expect(frame).to_have_attribute("sandbox", "")
        expect(frame).to_have_attribute("srcdoc", re.compile(re.escape(HTML_BODY)))
        expect(page.frame_locator("iframe.mail-html").locator("strong")).to_have_text("Ada")
        expect(page.locator("main strong", has_text="Ada")).to_have_count(0)
        assert_accessible(page, "main")
        page.screenshot(path=str(screenshot_dir / "dev-mail-html-desktop.png"), full_page=True)

        # The keyboard: back to the plain text with Enter.
        detail.get_by_role("button", name="Plain text").focus()
        page.keyboard.press("Enter")
        expect(detail.locator("pre.mail-text")).to_be_visible()

        mobile = phone.new_page()
        sign_in(mobile, base, "admin-ada")
        open_mail(mobile)
        mobile.locator("button.mail-item", has_text=SUBJECT).click()
        expect(mobile.locator("#mail-title")).to_be_focused()
        expect(mobile.locator("pre.mail-text")).to_contain_text("Press the link")
        width = mobile.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
        assert_accessible(mobile, "main")
        mobile.screenshot(path=str(screenshot_dir / "dev-mail-phone.png"), full_page=True)
    finally:
        desktop.close()
        phone.close()


def test_no_mail_page_without_a_catcher(browser: Browser, plain_server: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        sign_in(page, plain_server, "admin-ada")
        expect(page.get_by_role("link", name="Webhooks")).to_be_visible()
        # The probe has answered 404 by the time the console asked for it.
        page.wait_for_load_state("networkidle")
        expect(page.get_by_role("link", name="Mail (dev)")).to_have_count(0)
        # Typing the address lands in the inbox.
        page.goto(plain_server + "/console#/mail")
        expect(page.get_by_label("Your status")).to_be_visible()
        expect(page.get_by_role("heading", name="Mail (development)")).to_have_count(0)
        expect(page.get_by_role("link", name="Mail (dev)")).to_have_count(0)
    finally:
        context.close()
