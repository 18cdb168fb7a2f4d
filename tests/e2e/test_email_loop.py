"""The whole email loop in real browsers (issue 25, "Done means").

A visitor leaves a message while nobody is online and closes the page; an
agent answers in the console; the email arrives in the stack's mail catcher;
the visitor's email answer (sent to the stack's inbound listener) appears in
the console conversation, marked "by email", and in the widget on the
visitor's next visit.

A stack of its own (Rasa, action server, chat server) with the mail catcher,
the inbound listener and a one-second reply wait. Every connection goes to
127.0.0.1; the reply domain is only a header value.
"""

from __future__ import annotations

import json
import re
import smtplib
import urllib.request
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from chat_server.verification import user_hash
from dev.devstack import Stack, free_port
from tests.conftest import IDENTITY_SECRET, make_stack
from tests.e2e.axe import assert_accessible
from tests.e2e.console_helpers import create_agent, say, sign_in, transcript, view_tab, wait_until
from tests.e2e.test_widget_browser import BOT_REPLY_TIMEOUT, LOG, open_chat, open_store
from tests.e2e.test_widget_memory import identity_page

pytestmark = [pytest.mark.browser, pytest.mark.stack]

REPLY_DOMAIN = "reply.example.test"
VISITOR_EMAIL = "jane.loop@example.com"
LEFT = "My tent pole arrived broken. Can you send a new one?"
ANSWER = "Sorry about that! A new pole goes out today."
EMAIL_BACK = "Thank you, that's quick. Please send it to my work address."
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def mail_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, int]]:
    inbound = free_port()
    with make_stack(
        tmp_path_factory.mktemp("mailstack"),
        REPLY_DOMAIN=REPLY_DOMAIN,
        INBOUND_SMTP_PORT=str(inbound),
        EMAIL_REPLY_AFTER_SECONDS="1",
    ) as stack:
        yield stack, inbound


def caught(stack: Stack) -> list[dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1)
        f"{stack.base_url}/api/dev/mail",
        headers={"Authorization": f"Bearer {stack.config.admin_token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 (127.0.0.1)
        messages: list[dict[str, Any]] = json.load(resp)["messages"]
    return messages


def answer_by_email(port: int, reply_to: str, quoted: str) -> None:
    msg = EmailMessage()
    msg["From"] = f"Jane <{VISITOR_EMAIL}>"
    msg["To"] = reply_to
    msg["Subject"] = "Re: your conversation with Rapport"
    msg["Message-ID"] = "<loop-answer-1@example.com>"
    msg.set_content(f"{EMAIL_BACK}\n\nJane\n\nOn Mon, Rapport wrote:\n> {quoted}\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(msg)


def test_a_message_left_offline_is_answered_by_email_and_the_answer_threads_back(
    browser: Browser, mail_stack: tuple[Stack, int], screenshot_dir: Path
) -> None:
    stack, inbound_port = mail_stack
    base = stack.base_url
    visitor = browser.new_context(**PHONE)  # type: ignore[arg-type]
    console_context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        # 1. Nobody is online: the visitor leaves a message and an address, and goes.
        page = visitor.new_page()
        page.set_default_timeout(BOT_REPLY_TIMEOUT * 1000)
        open_store(page, base)
        open_chat(page)
        say(page, "can I talk to a real person please")
        expect(
            page.locator(f"{LOG} .msg-bot", has_text="Nobody from our team is online")
        ).to_be_visible()
        say(page, LEFT)
        expect(page.locator(f"{LOG} .msg-bot", has_text="What email address")).to_be_visible()
        say(page, VISITOR_EMAIL)
        expect(page.locator(f"{LOG} .msg-bot", has_text="we've got your message")).to_be_visible()
        page.close()

        # 2. An agent answers from the follow-ups list.
        agent = create_agent(stack, "Sam", role="admin")
        console = console_context.new_page()
        sign_in(console, base, agent)
        view_tab(console, "followups").click()
        item = console.locator("li.followup", has_text=LEFT)
        expect(item).to_be_visible()
        item.get_by_role("button", name="Open conversation").click()
        console.locator(".conv-actions").get_by_role("button", name=re.compile(r"Join")).click()
        # Joined: the composer turns to a reply (until then it writes notes).
        reply_mode = console.locator(".mode-switch").get_by_role("button", name="Reply", exact=True)
        expect(reply_mode).to_have_attribute("aria-pressed", "true")
        box = console.locator("#composer-input")
        box.fill(ANSWER)
        box.press("Enter")
        expect(transcript(console).locator(".msg-agent .text", has_text=ANSWER)).to_be_visible()

        # 3. The visitor is gone, so the answer goes by email (caught locally).
        mail = wait_until(
            lambda: next((m for m in caught(stack) if VISITOR_EMAIL in m["to"]
                          and ANSWER in m["text"]), None),
            "the agent's answer in the mail catcher",
            timeout=60,
        )  # fmt: skip
        assert LEFT in mail["text"]  # the context: what the visitor had written
        reply_to = mail["headers"]["Reply-To"]
        assert reply_to.startswith("reply+") and reply_to.endswith(f"@{REPLY_DOMAIN}")

        # The console says what was emailed, to whom, and how it went.
        console.reload()
        emails = console.get_by_test_id("conversation-emails")
        expect(emails).to_contain_text(f"Reply emailed to {VISITOR_EMAIL}")
        expect(emails.locator(".chip")).to_have_text("sent")
        assert_accessible(console, "[data-testid=conversation-emails]")

        # 4. The visitor answers by email: it threads back into the conversation.
        answer_by_email(inbound_port, reply_to, ANSWER)
        by_email = transcript(console).locator(".msg-email")
        expect(by_email.locator(".bubble")).to_have_text(EMAIL_BACK + "\n\nJane", timeout=20_000)
        expect(by_email.locator(".channel-email")).to_have_text("by email")
        assert_accessible(console, ".transcript")
        console.screenshot(path=str(screenshot_dir / "console-email-answer-desktop.png"))

        # 5. Next visit: the widget shows the agent's answer and the email answer.
        page = visitor.new_page()
        open_store(page, base)
        open_chat(page)
        log = page.locator(LOG)
        expect(log.locator(".msg-agent", has_text=ANSWER)).to_be_visible()
        expect(log.locator(".msg-visitor", has_text=EMAIL_BACK)).to_be_visible()
        page.screenshot(path=str(screenshot_dir / "widget-email-answer-phone.png"))
    finally:
        visitor.close()
        console_context.close()


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_verified_customer_emails_themselves_the_conversation(
    browser: Browser, mail_stack: tuple[Stack, int], screenshot_dir: Path, device: str
) -> None:
    stack, _ = mail_stack
    email = f"cara.{device}@shop.example"
    user_id = f"cust-{device}-{uuid.uuid4().hex[:8]}"
    claim = {
        "user_id": user_id,
        "user_hash": user_hash(IDENTITY_SECRET, user_id, verified_email=email),
        "name": "Cara",
        "email": email,
        "email_verified": True,
    }
    options = PHONE if device == "phone" else {"viewport": {"width": 1280, "height": 800}}
    customer = browser.new_context(**options)
    anonymous = browser.new_context(**options)
    try:
        page = customer.new_page()
        page.set_default_timeout(BOT_REPLY_TIMEOUT * 1000)
        identity_page(page, stack.base_url, {}, claim)
        open_chat(page)
        say(page, "Do you ship to Norway?")
        expect(page.locator(f"{LOG} .msg-bot:not(.greeting)").first).to_be_visible()
        button = page.get_by_role("button", name="Email me this conversation")
        expect(button).to_be_visible()
        assert_accessible(page, "#rapport-widget")
        button.click()
        masked = "c•••@shop.example"
        expect(
            page.locator(f"{LOG} .note", has_text=f"emailed this conversation to {masked}")
        ).to_be_visible()
        page.screenshot(path=str(screenshot_dir / f"widget-email-transcript-{device}.png"))
        mail = wait_until(
            lambda: next((m for m in caught(stack) if email in m["to"]), None),
            "the transcript in the mail catcher",
        )
        assert "Do you ship to Norway?" in mail["text"] and "Your conversation" in mail["subject"]

        # A visitor with no verified or confirmed address is not offered it.
        other = anonymous.new_page()
        open_store(other, stack.base_url)
        open_chat(other)
        say(other, "hello")
        expect(other.locator(f"{LOG} .msg-bot:not(.greeting)").first).to_be_visible()
        expect(other.get_by_role("button", name="Email me this conversation")).to_be_hidden()
    finally:
        customer.close()
        anonymous.close()
