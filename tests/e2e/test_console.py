"""The agent console (/console) in headless Chromium against the real stack,
with a visitor in a second browser context using the widget on the demo store.

Screenshots of the console during a handoff go to RAPPORT_SCREENSHOT_DIR when
set (docs/screenshots/ for the docs), else to the test's tmp dir.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from dev.devstack import Stack
from tests.e2e.console_helpers import (
    WIDGET,
    Rest,
    action,
    conversation_item,
    create_agent,
    go_online,
    say,
    sign_in,
    transcript,
    view_tab,
    visitor_id_of,
)
from tests.e2e.test_widget_browser import BOT_REPLY_TIMEOUT, LOG, bot_turns, open_chat, open_store

pytestmark = [pytest.mark.browser, pytest.mark.stack]

LIVE = 20_000  # ms for something pushed over a socket to show up
NOTE_LABEL = "Internal note \N{EN DASH} the visitor never sees this"


@pytest.fixture
def visitor_page(browser: Browser) -> Iterator[Page]:
    """The visitor: a separate browser profile on the demo store."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


@pytest.fixture
def new_agent(live_stack: Stack) -> Iterator[Callable[[str], tuple[str, Rest]]]:
    """Makes fresh agent accounts; afterwards none has a chat assigned and all are offline."""
    made: list[Rest] = []

    def make(display_name: str) -> tuple[str, Rest]:
        username = create_agent(live_stack, display_name)
        rest = Rest(live_stack.base_url).login(username)
        made.append(rest)
        return username, rest

    yield make
    for rest in made:
        rest.clean_up()


@pytest.fixture
def agent(new_agent: Callable[[str], tuple[str, Rest]]) -> tuple[str, Rest]:
    return new_agent("Alex")


# Desktop notifications, recorded: headless Chromium shows none.
NOTIFICATION_STUB = """
window.__notifications = [];
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) {
    window.__notifications.push({title, body: options && options.body});
  }
  close() {}
};
"""


def new_agent_page(browser: Browser, phone: bool = False) -> tuple[BrowserContext, Page]:
    if phone:
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        )
    else:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(NOTIFICATION_STUB)
    page = context.new_page()
    page.set_default_timeout(30_000)
    return context, page


def tracker_texts(stack: Stack, visitor_id: str) -> list[str]:
    query = urllib.parse.urlencode({"token": stack.config.rasa_token})
    url = f"{stack.config.rasa_url}/conversations/{visitor_id}/tracker?{query}"
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (the stack's Rasa)
        tracker = json.load(response)
    return [str(e.get("text")) for e in tracker.get("events", []) if e.get("text")]


def test_sign_in_wrong_password_then_right(
    page: Page,
    base_url: str,
    agent: tuple[str, Rest],
) -> None:
    username, _ = agent
    page.goto(base_url + "/console")
    expect(page).to_have_title(re.compile("Rapport console"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(page.get_by_label("Your status")).to_have_count(0)

    page.get_by_label("Password").fill("console-test-password-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Your status")).to_be_visible()
    expect(page.locator(".me-name")).to_have_text("Alex")
    expect(view_tab(page, "mine")).to_have_attribute("aria-current", "page")

    # A reload keeps the session (GET /api/me gives the CSRF token back)...
    page.reload()
    expect(page.get_by_label("Your status")).to_be_visible()
    page.get_by_label("Your status").select_option("away")
    expect(page.locator(".banner-warn")).to_contain_text("You are away")
    # ...and signing out ends it.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_handoff_reply_resolve_rating_and_back_to_bot(
    browser: Browser,
    live_stack: Stack,
    base_url: str,
    agent: tuple[str, Rest],
    visitor_page: Page,
    screenshot_dir: Path,
) -> None:
    username, rest = agent
    shortcut = f"waterproof{uuid.uuid4().hex[:6]}"
    canned = rest.ok(
        "POST", "/api/canned-responses", {"shortcut": shortcut, "text": "Yes, fully waterproof."}
    )["canned_response"]
    context, console = new_agent_page(browser)
    with context:
        sign_in(console, base_url, username)
        go_online(console, rest)

        # The visitor chats with the bot, then asks for a person.
        visitor = visitor_page
        open_store(visitor, base_url)
        open_chat(visitor)
        say(visitor, "show me tents")
        expect(visitor.locator(f"{LOG} .cards")).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
        vid = visitor_id_of(visitor)
        say(visitor, "I want to talk to a human")

        # Auto-assigned to the only agent online: it shows up in Mine, live,
        # with a desktop notification that repeats until the agent opens it.
        item = conversation_item(console, vid)
        expect(item).to_be_visible(timeout=BOT_REPLY_TIMEOUT + LIVE)
        expect(view_tab(console, "mine").locator(".count")).to_have_text("1")
        expect(console).to_have_title("(1) Rapport console")
        notifications = console.evaluate("window.__notifications")
        # (A queue alert may come first: the chat can be queued for a moment
        # before routing assigns it.)
        titles = [n["title"] for n in notifications]
        assert f"New chat: Visitor {vid[:6]}" in titles, titles
        # The console's CSP forbids eval, which wait_for_function needs: poll instead.
        for _ in range(60):
            if console.evaluate("window.__notifications.length") >= 2:
                break
            console.wait_for_timeout(250)
        assert console.evaluate("window.__notifications.length") >= 2, "the alert did not repeat"
        item.click()
        expect(console.locator(".conv-header .chip")).to_have_text("Assigned to you")
        expect(console).to_have_title("Rapport console")

        # The bot history with intents, and the visitor's profile and context.
        log = transcript(console)
        human = log.locator(".msg-visitor", has_text="I want to talk to a human")
        expect(human).to_be_visible()
        expect(human.locator(".intent")).to_have_text(re.compile(r"^\w+ · [01]\.\d\d$"))
        expect(log.locator(".msg-visitor", has_text="show me tents")).to_be_visible()
        expect(log.locator(".msg-bot").first).to_be_visible()
        expect(log.locator(".msg-bot .product").first).to_be_visible()
        panel = console.locator(".visitor-panel")
        expect(panel.get_by_test_id("visitor-presence")).to_have_text("Online now")
        expect(panel.locator(".facts").first).to_contain_text("Marketing consent")
        expect(panel).to_contain_text("Visitor asked for a person")
        expect(panel.locator(".intents li").first).to_be_visible()

        # The agent types: the visitor sees it. Then replies with Enter.
        box = console.get_by_label(re.compile("^Reply to"))
        box.press_sequentially("Hi, I'm Alex. ", delay=40)
        typing = visitor.locator(f"{WIDGET} .typing")
        expect(typing).to_be_visible(timeout=LIVE)
        expect(typing).to_contain_text("Alex is typing")
        box.press_sequentially("Which tent are you looking at?", delay=10)
        box.press("Enter")
        reply = "Hi, I'm Alex. Which tent are you looking at?"
        expect(visitor.locator(f"{LOG} .msg-agent .bubble").last).to_have_text(reply, timeout=LIVE)
        expect(log.locator(".msg-agent .bubble").last).to_have_text(reply)
        expect(box).to_have_value("")

        # An internal note is marked as such and never reaches the visitor.
        console.get_by_role("button", name="Note", exact=True).click()
        note = console.get_by_label("Internal note")
        note.fill("Wants the 2-person tent")
        note.press("Enter")
        stored = log.locator(".msg-note[data-message-id]")
        expect(stored).to_contain_text(NOTE_LABEL)
        expect(stored.locator(".text")).to_have_text("Wants the 2-person tent")
        expect(log.locator(".msg-note")).to_have_count(1)  # no "Saving…" copy left
        console.get_by_role("button", name="Reply", exact=True).click()

        # The visitor answers: the transcript grows live. The agent answers with
        # a canned response: "/shortcut" offers it, Tab inserts it.
        say(visitor, "The Ridge 2, is it waterproof?")
        expect(log.locator(".msg-visitor .bubble").last).to_have_text(
            "The Ridge 2, is it waterproof?", timeout=LIVE
        )
        box.press_sequentially(f"/{shortcut}")
        option = console.get_by_role("option", name=re.compile(shortcut))
        expect(option).to_be_visible()
        box.press("Tab")
        expect(box).to_have_value("Yes, fully waterproof.")
        box.press("Enter")
        expect(visitor.locator(f"{LOG} .msg-agent .bubble").last).to_have_text(
            "Yes, fully waterproof.", timeout=LIVE
        )
        console.screenshot(path=str(screenshot_dir / "console-desktop.png"))

        # Resolve: the visitor is asked for a rating; the console shows it.
        # (sent once its 5-second undo window has passed)
        action(console, "Resolve").click()
        expect(console.locator(".conv-header .chip")).to_have_text("Resolved", timeout=LIVE)
        card = visitor.locator(f"{LOG} form.csat")
        expect(card).to_be_visible(timeout=LIVE)
        card.get_by_role("radio", name=re.compile(r"^4 stars")).click()
        card.get_by_label("Comment (optional)").fill("Quick and kind")
        card.get_by_role("button", name="Submit").click()
        expect(visitor.locator(f"{LOG} .csat-thanks")).to_be_visible()
        expect(console.locator(".csat-line")).to_contain_text("Rated 4/5", timeout=LIVE)
        expect(console.locator(".csat-line")).to_contain_text("Quick and kind")
        view_tab(console, "resolved").click()
        expect(item.locator(".chip.csat")).to_have_text("★ 4")

        # The bot is back: it answers the visitor's next message.
        turns = bot_turns(visitor).count()
        say(visitor, "hi")
        expect(bot_turns(visitor)).not_to_have_count(turns, timeout=BOT_REPLY_TIMEOUT)
        # The human phase is in the bot's tracker (visitor and agent messages).
        texts = tracker_texts(live_stack, vid)
        for text in ("The Ridge 2, is it waterproof?", reply, "Yes, fully waterproof."):
            assert text in texts, f"{text!r} not in the tracker: {texts[-12:]}"
        assert "Wants the 2-person tent" not in texts  # notes stay in the console
    rest.call("DELETE", f"/api/canned-responses/{canned['id']}")


def test_barge_in_and_hand_back(
    browser: Browser,
    base_url: str,
    live_stack: Stack,
    agent: tuple[str, Rest],
    visitor_page: Page,
) -> None:
    username, rest = agent
    context, console = new_agent_page(browser)
    with context:
        sign_in(console, base_url, username)
        go_online(console, rest)
        view_tab(console, "bot").click()

        visitor = visitor_page
        open_store(visitor, base_url)
        open_chat(visitor)
        say(visitor, "do you sell sleeping bags?")
        expect(bot_turns(visitor).first).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
        vid = visitor_id_of(visitor)

        # The bot conversation appears in the Bot list without a reload.
        item = conversation_item(console, vid)
        expect(item).to_be_visible(timeout=LIVE)
        item.click()
        log = transcript(console)
        expect(log.locator(".msg-visitor", has_text="do you sell sleeping bags?")).to_be_visible()
        expect(console.locator(".conv-header .chip")).to_have_text("With the bot")
        # Watching: the next bot turn shows up live.
        bot_before = log.locator(".msg-bot").count()
        say(visitor, "show me tents")
        expect(log.locator(".msg-visitor", has_text="show me tents")).to_be_visible(timeout=LIVE)
        expect(log.locator(".msg-bot")).not_to_have_count(bot_before, timeout=BOT_REPLY_TIMEOUT)

        # Join: the conversation is ours; the visitor gets the agent's message.
        action(console, "Join").click()
        expect(console.locator(".conv-header .chip")).to_have_text("Assigned to you")
        box = console.get_by_label(re.compile("^Reply to"))
        box.fill("Hello! I'm Alex from the shop, can I help you choose?")
        box.press("Enter")
        expect(visitor.locator(f"{LOG} .msg-agent .bubble").last).to_have_text(
            "Hello! I'm Alex from the shop, can I help you choose?", timeout=LIVE
        )
        view_tab(console, "mine").click()
        expect(item).to_be_visible()

        # Hand back to the bot: it answers the next visitor message (the console sees it too).
        action(console, "Hand back to bot").click()
        expect(console.locator(".conv-header .chip")).to_have_text("With the bot", timeout=LIVE)
        expect(item).to_have_count(0)  # no longer in Mine
        turns = bot_turns(visitor).count()
        say(visitor, "hi")
        expect(bot_turns(visitor)).not_to_have_count(turns, timeout=BOT_REPLY_TIMEOUT)
        expect(log.locator(".msg-visitor .bubble").last).to_have_text("hi", timeout=LIVE)
        expect(log.locator(".msg").last).to_have_class(
            re.compile(r"msg-bot"), timeout=BOT_REPLY_TIMEOUT
        )


def test_phone_layout_during_a_handoff(
    browser: Browser,
    base_url: str,
    agent: tuple[str, Rest],
    visitor_page: Page,
    screenshot_dir: Path,
) -> None:
    username, rest = agent
    context, console = new_agent_page(browser, phone=True)
    with context:
        sign_in(console, base_url, username)
        go_online(console, rest)
        # One column: the list, no conversation pane.
        expect(console.locator(".sidebar")).to_be_visible()
        expect(console.locator(".main")).to_be_hidden()

        visitor = visitor_page
        open_store(visitor, base_url)
        open_chat(visitor)
        say(visitor, "I want to talk to a human")
        vid = visitor_id_of(visitor)
        item = conversation_item(console, vid)
        expect(item).to_be_visible(timeout=BOT_REPLY_TIMEOUT + LIVE)
        item.tap()

        # The conversation replaces the list; it fits the screen.
        expect(console.locator(".sidebar")).to_be_hidden()
        expect(console.locator(".conv-header")).to_be_in_viewport()
        box = console.get_by_label(re.compile("^Reply to"))
        expect(box).to_be_in_viewport()
        box.fill("Hi! I'm Alex, how can I help?")
        box.press("Enter")
        expect(visitor.locator(f"{LOG} .msg-agent .bubble").last).to_have_text(
            "Hi! I'm Alex, how can I help?", timeout=LIVE
        )
        say(visitor, "My tent pole snapped")
        expect(transcript(console).locator(".msg-visitor .bubble").last).to_have_text(
            "My tent pole snapped", timeout=LIVE
        )
        width = console.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways ({width}px)"
        console.screenshot(path=str(screenshot_dir / "console-phone.png"))

        # The visitor panel is its own screen; back leads to the chat, then the list.
        console.get_by_role("button", name="Visitor", exact=True).tap()
        expect(console.locator(".visitor-panel")).to_be_in_viewport()
        expect(console.locator(".conversation")).to_be_hidden()
        console.get_by_role("button", name="Back to the conversation").tap()
        expect(console.locator(".conversation")).to_be_visible()
        console.get_by_role("button", name="Back to the list").tap()
        expect(console.locator(".sidebar")).to_be_visible()
        expect(item).to_be_visible()


def test_conflict_says_who_got_there_first(
    browser: Browser,
    base_url: str,
    new_agent: Callable[[str], tuple[str, Rest]],
    visitor_page: Page,
) -> None:
    alex, _ = new_agent("Alex")
    _, sam = new_agent("Sam")
    context, console = new_agent_page(browser)
    with context:
        sign_in(console, base_url, alex)
        view_tab(console, "bot").click()
        visitor = visitor_page
        open_store(visitor, base_url)
        open_chat(visitor)
        say(visitor, "hello there")
        vid = visitor_id_of(visitor)
        item = conversation_item(console, vid)
        expect(item).to_be_visible(timeout=LIVE)
        item.click()
        join = action(console, "Join")
        expect(join).to_be_visible()
        cid = int(console.evaluate("location.hash").rsplit("/", 1)[-1])

        # Sam barges in while Alex's console is cut off, so it still offers Join.
        context.set_offline(True)
        sam.ok("POST", f"/api/conversations/{cid}/accept")
        context.set_offline(False)
        join.click()
        expect(console.get_by_role("alert")).to_have_text("Sam joined this conversation first.")
        expect(console.locator(".conv-header .chip")).to_have_text("Assigned to Sam")
        expect(action(console, "Join")).to_have_count(0)
