"""Human handoff as a visitor sees it in the Rapport widget, against the real stack.

The visitor asks for a person while the only agent is busy, so they wait in
the queue; the agent (REST, and Socket.IO `/agent` with a bearer token for
typing) accepts, types, replies and resolves; the visitor rates the chat.
Runs on a desktop and on a phone viewport. The screenshots the docs show go
to RAPPORT_SCREENSHOT_DIR when it is set (`RAPPORT_SCREENSHOT_DIR=docs/screenshots`
refreshes them), the others (and all of them otherwise) to the test's tmp dir.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypedDict, TypeVar

import aiohttp
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from dev.devstack import Stack
from tests.e2e.test_widget_browser import BOT_REPLY_TIMEOUT, LOG, PANEL, open_chat, open_store
from tests.support.agents import AgentClient, create_agent
from tests.support.visitor import Visitor

pytestmark = [pytest.mark.browser, pytest.mark.stack]

T = TypeVar("T")
WIDGET = "#rapport-widget"


class Device(TypedDict, total=False):
    """Options of `browser.new_context` that make it a desktop or a phone."""

    viewport: ViewportSize
    is_mobile: bool
    has_touch: bool


VIEWPORTS: dict[str, Device] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


class Background:
    """An asyncio loop in a thread, so async clients run beside Playwright's sync API."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="e2e-async", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def __enter__(self) -> Background:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def background() -> Iterator[Background]:
    with Background() as bg:
        yield bg


async def online_agent(stack: Stack, name: str, max_chats: int) -> AgentClient:
    """An agent who is online (available up to `max_chats`) with the console's socket open."""
    async with aiohttp.ClientSession() as http:
        account = await create_agent(
            http, stack.base_url, stack.config.admin_token, name=name, max_chats=max_chats
        )
    agent = await AgentClient(stack.base_url, account["username"]).login()
    await agent.connect()  # bearer token (POST /api/me/token) on the /agent socket
    await agent.set_status("online")
    return agent


async def go_offline(agent: AgentClient, conversation_ids: list[int]) -> None:
    """Leave the shared stack as found: nothing assigned, nobody online."""
    try:
        for cid in conversation_ids:
            detail = await agent.ok("GET", f"/api/conversations/{cid}")
            if detail["conversation"]["state"] == "assigned":
                await agent.ok("POST", f"/api/conversations/{cid}/resolve")
        await agent.set_status("offline")
    finally:
        await agent.close()


async def wait_for(predicate: Any, what: str, timeout: float = 15) -> Any:  # noqa: ASYNC109
    """Poll `predicate()` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def conversation_of(agent: AgentClient, visitor_id: str, view: str) -> dict[str, Any] | None:
    listing = await agent.ok("GET", f"/api/conversations?view={view}")
    return next((c for c in listing["conversations"] if c["visitor_id"] == visitor_id), None)


@contextmanager
def busy_agent(
    background: Background, stack: Stack, name: str
) -> Iterator[tuple[AgentClient, list[int]]]:
    """An online agent who takes one chat at a time and is already in one.

    So the next visitor who asks for a person waits in the queue until the agent
    accepts. Yields the agent and a list of conversation ids to resolve at the
    end (the busy one included; callers add theirs); afterwards the agent is
    offline again, so the shared stack routes nothing to them.
    """
    agent = background.run(online_agent(stack, name, max_chats=1))
    busy = Visitor()
    conversation_ids: list[int] = []
    try:
        background.run(busy.connect(stack.base_url))
        background.run(busy.say("I want to talk to a human"))
        other = background.run(
            wait_for(
                lambda: conversation_of(agent, busy.visitor_id, "mine"), "the busy visitor's chat"
            )
        )
        conversation_ids.append(other["id"])
        yield agent, conversation_ids
    finally:
        background.run(busy.close())
        background.run(go_offline(agent, conversation_ids))


def visitor_id_of(page: Page) -> str:
    page.wait_for_function("() => !!localStorage.getItem('rapport.session_id')")
    session_id = page.evaluate("localStorage.getItem('rapport.session_id')")
    return str(session_id).split(".")[0]


# The ones docs/ shows (widget/README.md); the rest stay in the test's tmp dir.
DOC_SCREENSHOTS = {
    "widget-handoff-desktop.png",
    "widget-handoff-phone.png",
    "widget-csat-phone.png",
}


@pytest.fixture
def shot(tmp_path: Path) -> Callable[[Page, str], None]:
    """Screenshot the page; the docs' ones to RAPPORT_SCREENSHOT_DIR when it is set."""
    configured = os.environ.get("RAPPORT_SCREENSHOT_DIR")

    def take(page: Page, name: str) -> None:
        directory = Path(configured) if configured and name in DOC_SCREENSHOTS else tmp_path
        directory.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(directory / name))

    return take


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_handoff_queue_agent_and_rating(
    device: str,
    browser: Browser,
    live_stack: Stack,
    background: Background,
    shot: Callable[[Page, str], None],
) -> None:
    base_url = live_stack.base_url
    context = browser.new_context(**VIEWPORTS[device])
    # Sam takes one chat at a time, and is already busy with another visitor.
    with busy_agent(background, live_stack, "Sam") as (sam, conversation_ids), context:
        page = context.new_page()
        page.set_default_timeout(30_000)
        open_store(page, base_url)
        open_chat(page)
        box = page.get_by_label("Type your message")
        box.fill("I want to talk to a human")
        box.press("Enter")

        # Queued: the strip and the log say so, with the place in line.
        strip = page.locator(f"{WIDGET} .handoff")
        expect(strip).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
        expect(strip).to_contain_text("Connecting you to a person")
        wait = r"(about \d+ min|under a minute|we'll be with you as soon as we can)"
        expect(strip).to_contain_text(re.compile(r"You're #1 in line · " + wait))
        expect(page.locator(f"{LOG} .note", has_text="Connecting you to a person")).to_have_count(1)
        visitor_id = visitor_id_of(page)
        queued = background.run(
            wait_for(lambda: conversation_of(sam, visitor_id, "queue"), "the visitor in the queue")
        )
        conversation_ids.append(queued["id"])
        cid = queued["id"]
        assert queued["queue_position"] == 1
        # While waiting for a person, no "assistant is typing" after a message.
        box.fill("Is anyone there?")
        box.press("Enter")
        expect(page.locator(f"{LOG} .msg-visitor .bubble").last).to_have_text("Is anyone there?")
        expect(page.locator(f"{WIDGET} .typing")).to_be_hidden()
        shot(page, f"widget-queued-{device}.png")

        # Sam accepts: the header names Sam, the log announces it, the strip goes.
        background.run(sam.ok("POST", f"/api/conversations/{cid}/accept"))
        expect(page.locator(f"{WIDGET} .subtitle")).to_have_text("Chatting with Sam")
        expect(page.locator(f"{LOG} .note", has_text="Sam joined the chat")).to_have_count(1)
        expect(strip).to_be_hidden()

        # Sam types: "Sam is typing…"; then Sam's message, labelled with the name.
        ack = background.run(sam.emit("typing", {"conversation_id": cid, "typing": True}))
        assert ack.get("ok"), ack
        typing = page.locator(f"{WIDGET} .typing")
        expect(typing).to_be_visible()
        expect(typing).to_contain_text("Sam is typing…")
        background.run(
            sam.ok(
                "POST",
                f"/api/conversations/{cid}/messages",
                {"text": "Hi, this is Sam from support. How can I help?"},
            )
        )
        agent_turn = page.locator(f"{LOG} .msg-agent").last
        expect(agent_turn.locator(".bubble")).to_have_text(
            "Hi, this is Sam from support. How can I help?"
        )
        expect(agent_turn.locator(".sender")).to_have_text("Sam:")
        expect(typing).to_be_hidden()
        # It is not drawn as the assistant's.
        expect(page.locator(f"{LOG} .msg-bot", has_text="this is Sam")).to_have_count(0)
        background.run(sam.emit("typing", {"conversation_id": cid, "typing": True}))
        expect(typing).to_contain_text("Sam is typing…")

        # The visitor types: Sam sees it (throttled true, then false when idle).
        box.press_sequentially("My tent pole", delay=50)
        background.run(
            wait_for(
                lambda: ("visitor_typing", {"conversation_id": cid, "typing": True}) in sam.log,
                "visitor_typing true",
            )
        )
        background.run(
            wait_for(
                lambda: ("visitor_typing", {"conversation_id": cid, "typing": False}) in sam.log,
                "visitor_typing false after 3 s idle",
                timeout=10,
            )
        )
        box.press_sequentially(" snapped", delay=30)
        shot(page, f"widget-handoff-{device}.png")
        background.run(sam.emit("typing", {"conversation_id": cid, "typing": False}))
        expect(typing).to_be_hidden()
        box.press("Enter")
        expect(typing).to_be_hidden()  # no "assistant is typing" while with a person
        background.run(
            wait_for(
                lambda: any(
                    name == "message_created" and data["message"]["text"] == "My tent pole snapped"
                    for name, data in sam.log
                ),
                "the visitor's message at the agent",
            )
        )

        # A reload resumes the same: Sam in the header, Sam's message (history) named.
        page.reload()
        open_chat(page)
        box = page.get_by_label("Type your message")
        expect(page.locator(f"{WIDGET} .subtitle")).to_have_text("Chatting with Sam")
        restored = page.locator(f"{LOG} .msg-agent", has_text="this is Sam from support")
        expect(restored.locator(".sender")).to_have_text("Sam:")
        expect(page.locator(f"{LOG} .msg-bot", has_text="this is Sam")).to_have_count(0)
        # Restored, not news: no "joined" line after the messages history drew.
        expect(page.locator(f"{LOG} .note", has_text="Sam joined the chat")).to_have_count(0)

        # Sam resolves: the name goes, the rating card comes.
        background.run(sam.ok("POST", f"/api/conversations/{cid}/resolve"))
        expect(page.locator(f"{LOG} .note", has_text="Sam ended the chat")).to_have_count(1)
        last_visitor = page.locator(f"{LOG} .msg-visitor .bubble").last
        expect(last_visitor).to_have_text("My tent pole snapped")
        expect(page.locator(f"{WIDGET} .subtitle")).to_be_hidden()
        card = page.locator(f"{LOG} form.csat")
        expect(card).to_be_visible()
        expect(card).to_contain_text("How did we do?")
        stars = card.get_by_role("radio")
        expect(stars).to_have_count(5)
        submit = card.get_by_role("button", name="Submit")
        expect(submit).to_be_disabled()
        four = card.get_by_role("radio", name=re.compile(r"^4 stars"))
        if device == "desktop":
            # Keyboard: one tab stop, arrows choose, Tab on to the comment and Submit.
            stars.first.focus()
            for _ in range(3):
                page.keyboard.press("ArrowRight")
            expect(four).to_have_attribute("aria-checked", "true")
            expect(four).to_be_focused()
            page.keyboard.press("Tab")
            page.keyboard.type("Quick and kind")
            page.keyboard.press("Tab")
            expect(submit).to_be_focused()
            shot(page, f"widget-csat-{device}.png")
            page.keyboard.press("Enter")
        else:
            four.tap()
            expect(four).to_have_attribute("aria-checked", "true")
            card.get_by_label("Comment (optional)").fill("Quick and kind")
            expect(submit).to_be_enabled()
            card.scroll_into_view_if_needed()
            shot(page, f"widget-csat-{device}.png")
            submit.tap()
        expect(page.locator(f"{LOG} .csat-thanks")).to_have_text("Thanks for your feedback!")
        expect(card).to_have_count(0)
        expect(page.locator(PANEL)).to_be_visible()
        if device == "desktop":  # focus was in the card: it moves on to the composer
            expect(box).to_be_focused()

        detail = background.run(sam.ok("GET", f"/api/conversations/{cid}"))
        assert detail["conversation"]["state"] == "resolved"
        assert detail["conversation"]["csat"] == {"score": 4, "comment": "Quick and kind"}
