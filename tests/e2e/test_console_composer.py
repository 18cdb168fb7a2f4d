"""The console for the busy agent (issue 22 §4): reply and note are explicit
modes per conversation, drafts keep their mode and survive Accept and a
reload (and go at sign-out), Resolve and Hand back wait five seconds with an
Undo before they reach the server, and keyboard shortcuts with a `?` overlay.

A real chat-server process with Rasa absent (visitors are queued for a
person), visitors using the widget on the demo store and the console, all in
Chromium.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.e2e.axe import assert_accessible
from tests.e2e.console_helpers import (
    Rest,
    action,
    conversation_item,
    go_online,
    say,
    sign_in,
    transcript,
    view_tab,
    visitor_id_of,
    wait_until,
)
from tests.e2e.test_proxy_warning_console import cli_agent
from tests.e2e.test_widget_browser import LOG, open_chat, open_store
from tests.support.server_process import ServerProcess, chat_server_process

pytestmark = pytest.mark.browser

AGENT = "agent-sam"
LIVE = 20_000  # ms for something pushed over a socket to show up
UNDO_SECONDS = 5  # handoff.js UNDO_MS
NOTES_SHOTS = Path("/work/notes/shots")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with chat_server_process(tmp_path, env={"AUTO_ASSIGN": "false", "SERVE_DEMO": "true"}) as srv:
        cli_agent(srv.database_url, AGENT, "agent")
        yield srv


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Browser profiles made by the test, closed afterwards."""
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def desk(browser: Browser, contexts: list[BrowserContext], phone: bool = False) -> Page:
    if phone:
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        )
    else:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
    contexts.append(context)
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def queued_visitor(
    browser: Browser, contexts: list[BrowserContext], base: str, rest: Rest, text: str
) -> tuple[Page, str, int]:
    """A visitor on the demo store who asked for help (the bot is down: queued)."""
    visitor = desk(browser, contexts)
    open_store(visitor, base)
    open_chat(visitor)
    say(visitor, text)
    vid = visitor_id_of(visitor)

    def queued() -> Any:
        found = rest.ok("GET", f"/api/visitors/{vid}/conversations")["conversations"]
        return next((c for c in found if c["state"] == "queued"), None)

    conversation = wait_until(queued, "the conversation to be queued")
    return visitor, vid, int(conversation["id"])


def state_of(rest: Rest, cid: int) -> tuple[str, int | None]:
    c = rest.ok("GET", f"/api/conversations/{cid}")["conversation"]
    agent = c.get("assigned_agent")
    return str(c["state"]), agent["id"] if agent else None


def mode(page: Page, name: str) -> Locator:
    return page.locator(".mode-switch").get_by_role("button", name=name, exact=True)


def drafts_in(page: Page) -> list[str]:
    return list(
        page.evaluate(
            "() => Object.keys(localStorage).filter((k) => k.startsWith('rapport.draft.'))"
        )
    )


def shoot(page: Page, directory: Path, name: str) -> None:
    path = directory / name
    page.screenshot(path=str(path))
    NOTES_SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, NOTES_SHOTS / name)


NOTE = "Asked about order 1234: check the refund first"
REPLY = "Hi, I'm looking at your order now."


def test_a_draft_keeps_its_mode_through_accept_and_reload_and_goes_at_sign_out(
    browser: Browser, server: ServerProcess, contexts: list[BrowserContext], screenshot_dir: Path
) -> None:
    base = server.base
    rest = Rest(base).login(AGENT)
    console = desk(browser, contexts)
    sign_in(console, base, AGENT)
    go_online(console, rest)
    visitor, vid, _ = queued_visitor(browser, contexts, base, rest, "I need a person please")

    # In the queue only notes are possible: the draft typed there is a note.
    view_tab(console, "queue").click()
    conversation_item(console, vid).click()
    box = console.locator("#composer-input")
    expect(mode(console, "Reply")).to_be_disabled()
    expect(mode(console, "Note")).to_have_attribute("aria-pressed", "true")
    box.fill(NOTE)

    # Accept: the note draft stays a note (it used to turn into a reply).
    action(console, "Accept").click()
    expect(console.locator(".conv-header .chip")).to_have_text("Assigned to you")
    expect(mode(console, "Reply")).to_be_enabled()
    expect(mode(console, "Reply")).to_have_attribute("aria-pressed", "false")
    expect(mode(console, "Note")).to_have_attribute("aria-pressed", "true")
    expect(console.locator(".composer-area")).to_have_class(re.compile(r"\bis-note\b"))
    expect(console.locator(".note-banner")).to_be_visible()
    expect(box).to_have_value(NOTE)
    assert_accessible(console, ".composer-area")
    shoot(console, screenshot_dir, "console-composer-note-desktop.png")

    # A reload keeps the draft and its mode.
    console.reload()
    expect(mode(console, "Note")).to_have_attribute("aria-pressed", "true")
    expect(box).to_have_value(NOTE)
    box.press("Enter")
    log = transcript(console)
    expect(log.locator(".msg-note[data-message-id] .text")).to_have_text(NOTE)
    expect(box).to_have_value("")

    # A reply draft survives a reload too.
    mode(console, "Reply").click()
    expect(mode(console, "Reply")).to_have_attribute("aria-pressed", "true")
    expect(console.locator(".composer-area")).not_to_have_class(re.compile(r"\bis-note\b"))
    box.fill(REPLY)
    console.reload()
    expect(box).to_have_value(REPLY)
    expect(mode(console, "Reply")).to_have_attribute("aria-pressed", "true")
    assert_accessible(console, ".composer-area")
    shoot(console, screenshot_dir, "console-composer-reply-desktop.png")
    box.press("Enter")
    expect(visitor.locator(f"{LOG} .msg-agent .bubble").last).to_have_text(REPLY, timeout=LIVE)
    assert NOTE not in visitor.locator("body").inner_text()  # the note never reached the visitor

    # On a phone: the same composer, in note mode.
    phone = desk(browser, contexts, phone=True)
    sign_in(phone, base, AGENT)
    conversation_item(phone, vid).click()
    mode(phone, "Note").click()
    phone.locator("#composer-input").fill("Phone note draft")
    expect(phone.locator(".composer-area")).to_have_class(re.compile(r"\bis-note\b"))
    assert_accessible(phone, ".composer-area")
    shoot(phone, screenshot_dir, "console-composer-note-phone.png")

    # Signing out leaves none of this agent's drafts on the computer.
    box.fill("An unsent draft")
    console.wait_for_function(
        "() => Object.keys(localStorage).some((k) => k.startsWith('rapport.draft.'))"
    )
    console.locator(".topbar").get_by_role("button", name="Sign out").click()
    expect(console.get_by_label("Username")).to_be_visible()
    assert drafts_in(console) == []
    sign_in(console, base, AGENT)
    conversation_item(console, vid).click()
    expect(box).to_have_value("")
    expect(mode(console, "Reply")).to_have_attribute("aria-pressed", "true")


def test_resolve_and_hand_back_wait_for_undo_and_show_late_errors(
    browser: Browser, server: ServerProcess, contexts: list[BrowserContext], screenshot_dir: Path
) -> None:
    base = server.base
    rest = Rest(base).login(AGENT)
    me = rest.me["id"]
    console = desk(browser, contexts)
    sign_in(console, base, AGENT)
    go_online(console, rest)
    visitor, vid, cid = queued_visitor(browser, contexts, base, rest, "Can a person help me?")
    rest.ok("POST", f"/api/conversations/{cid}/accept")
    conversation_item(console, vid).click()
    chip = console.locator(".conv-header .chip")
    expect(chip).to_have_text("Assigned to you")

    def undone(button: str, toast_text: str, note: str) -> None:
        action(console, button).click()
        toast = console.locator(".toast", has_text=toast_text)
        expect(toast).to_be_visible()
        assert state_of(rest, cid) == ("assigned", me)  # nothing sent yet
        assert_accessible(console, ".toasts")
        if button == "Resolve":
            shoot(console, screenshot_dir, "console-undo-toast-desktop.png")
        toast.get_by_role("button", name="Undo").click()
        expect(console.locator(".toast", has_text=note)).to_be_visible()
        time.sleep(UNDO_SECONDS + 1.5)
        assert state_of(rest, cid) == ("assigned", me)
        expect(chip).to_have_text("Assigned to you")
        expect(action(console, "Resolve")).to_be_enabled()

    undone("Resolve", "Resolving", "Not resolved")
    undone("Hand back", "Handing back", "Not handed back")
    expect(visitor.locator(f"{LOG} form.csat")).to_have_count(0)  # no rating was asked for

    # Closing the page during the window: the browser asks first; leaving sends nothing.
    second = console.context.new_page()
    second.goto(f"{base}/console#/c/{cid}")
    action(second, "Resolve").click()
    expect(second.locator(".toast", has_text="Resolving")).to_be_visible()
    with second.expect_event("dialog") as asked:
        second.close(run_before_unload=True)
    assert asked.value.type == "beforeunload"
    asked.value.accept()  # leave the page
    time.sleep(UNDO_SECONDS + 1.5)
    assert state_of(rest, cid) == ("assigned", me)

    # Without Undo, Hand back reaches the server once the window has passed.
    action(console, "Hand back").click()
    assert state_of(rest, cid) == ("assigned", me)
    expect(chip).to_have_text("With the bot", timeout=LIVE)
    assert state_of(rest, cid)[0] == "bot"

    # A late error is shown, not swallowed by the window: the conversation
    # was handed back elsewhere (here over REST) before the console's request.
    action(console, "Join").click()
    expect(chip).to_have_text("Assigned to you")
    action(console, "Hand back").click()
    rest.ok("POST", f"/api/conversations/{cid}/handback")
    expect(console.locator(".conflict[role=alert]")).to_be_visible(timeout=LIVE)

    # Without Undo, Resolve reaches the server and the visitor is asked for a rating.
    action(console, "Join").click()
    expect(chip).to_have_text("Assigned to you")
    action(console, "Resolve").click()
    assert state_of(rest, cid)[0] == "assigned"
    expect(chip).to_have_text("Resolved", timeout=LIVE)
    assert state_of(rest, cid)[0] == "resolved"
    expect(visitor.locator(f"{LOG} form.csat")).to_be_visible(timeout=LIVE)


def focused(page: Page, selector: str) -> bool:
    return bool(
        page.evaluate(
            "(s) => !!document.activeElement && document.activeElement.matches(s)", selector
        )
    )


def test_keyboard_shortcuts_and_their_overlay(
    browser: Browser, server: ServerProcess, contexts: list[BrowserContext], screenshot_dir: Path
) -> None:
    base = server.base
    rest = Rest(base).login(AGENT)
    console = desk(browser, contexts)
    sign_in(console, base, AGENT)
    go_online(console, rest)
    _, _, first = queued_visitor(browser, contexts, base, rest, "First: help please")
    _, second_vid, second = queued_visitor(browser, contexts, base, rest, "Second: help please")
    view_tab(console, "queue").click()
    expect(conversation_item(console, second_vid)).to_be_visible(timeout=LIVE)
    keys = console.keyboard

    def at(cid: int, listed: bool = True) -> None:
        expect(console).to_have_url(re.compile(rf"#/c/{cid}$"))
        if listed:  # (an accepted conversation has left the queue)
            expect(console.locator("a.conv.selected")).to_have_attribute("href", f"#/c/{cid}")

    # j / k and Alt+↓ / Alt+↑ walk the current list (the queue: oldest first).
    keys.press("j")
    at(first)
    keys.press("j")
    at(second)
    keys.press("k")
    at(first)
    keys.press("Alt+ArrowDown")
    at(second)
    keys.press("Alt+ArrowUp")
    at(first)
    # Not with other modifiers, and J is not j.
    keys.press("Control+j")
    keys.press("Shift+J")
    keys.press("Alt+j")
    console.wait_for_timeout(300)
    at(first)

    # a accepts the open conversation.
    keys.press("a")
    expect(console.locator(".conv-header .chip")).to_have_text("Assigned to you")
    assert state_of(rest, first) == ("assigned", rest.me["id"])

    # r: the message box in reply mode; letters typed there are text, not shortcuts.
    box = console.locator("#composer-input")
    keys.press("r")
    expect(box).to_be_focused()
    expect(mode(console, "Reply")).to_have_attribute("aria-pressed", "true")
    keys.type("jk?e")
    expect(box).to_have_value("jk?e")
    at(first, listed=False)
    assert console.locator("dialog").count() == 0
    # Esc leaves the message box (the transcript gets the focus).
    keys.press("Escape")
    expect(box).not_to_be_focused()
    expect(transcript(console)).to_be_focused()

    # n: the same draft, now a note.
    keys.press("n")
    expect(box).to_be_focused()
    expect(mode(console, "Note")).to_have_attribute("aria-pressed", "true")
    expect(box).to_have_value("jk?e")
    keys.press("Escape")
    expect(box).not_to_be_focused()

    # ? opens the overlay: a labelled modal dialog holding the focus; Esc
    # closes it and the focus goes back where it was.
    keys.press("?")
    dialog = console.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog.locator("tbody tr")).to_have_count(9)
    expect(dialog).to_contain_text("Next conversation in the list")
    assert focused(console, "dialog *")
    for _ in range(3):
        keys.press("Tab")
        assert focused(console, "dialog *")
    keys.press("Shift+Tab")
    assert focused(console, "dialog *")
    keys.press("j")  # the shortcuts rest while the overlay is open
    at(first, listed=False)
    assert_accessible(console, "dialog.modal")
    shoot(console, screenshot_dir, "console-shortcuts-desktop.png")
    keys.press("Escape")
    # Gone from the page, not only closed: the browser fires the dialog's
    # "close" event (which clears the console's state) a task later.
    expect(console.locator("dialog")).to_have_count(0)
    expect(transcript(console)).to_be_focused()
    # Its Close button works the same way.
    keys.press("?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(console.locator("dialog")).to_have_count(0)
    expect(transcript(console)).to_be_focused()

    # e resolves after its undo window; u undoes it meanwhile.
    mode(console, "Reply").click()
    box.fill("")
    keys.press("Escape")
    keys.press("e")
    expect(console.locator(".toast", has_text="Resolving")).to_be_visible()
    keys.press("u")
    expect(console.locator(".toast", has_text="Not resolved")).to_be_visible()
    time.sleep(UNDO_SECONDS + 1.5)
    assert state_of(rest, first) == ("assigned", rest.me["id"])
    keys.press("e")
    expect(console.locator(".toast", has_text="Resolving")).to_be_visible()
    expect(console.locator(".conv-header .chip")).to_have_text("Resolved", timeout=LIVE)
    assert state_of(rest, first)[0] == "resolved"
    assert state_of(rest, second)[0] == "queued"

    # The overlay on a phone.
    phone = desk(browser, contexts, phone=True)
    sign_in(phone, base, AGENT)
    phone.keyboard.press("?")
    small = phone.get_by_role("dialog", name="Keyboard shortcuts")
    expect(small).to_be_visible()
    assert_accessible(phone, "dialog.modal")
    shoot(phone, screenshot_dir, "console-shortcuts-phone.png")
    phone.keyboard.press("Escape")
    expect(small).to_have_count(0)
