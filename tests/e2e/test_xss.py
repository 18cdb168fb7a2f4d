"""An XSS corpus in a real browser: hostile text as visitor, bot, agent and
profile values must show up as inert text in the widget and the console.

Every payload calls ``window.__pwned('<id>')`` if it ever runs; an init script
defines it (and traps ``alert``) before any page script. Pages are opened with
``bypass_csp``: the rendering itself must be safe, not only hidden behind the
Content-Security-Policy. After rendering, each test checks that nothing ran
(no hit, no dialog), that no element anywhere (shadow roots included) carries
an ``on*`` attribute or a ``javascript:``/``data:``/``vbscript:`` URL, that no
payload became an element or a URL-bearing attribute, and that each payload is
on screen as text (so a value that was silently dropped does not pass).

Screenshots go to RAPPORT_SCREENSHOT_DIR when set (docs/screenshots/).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import urllib.parse
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from chat_server.db.models import Conversation, Followup, Message, Visitor
from dev.devstack import ROOT, Stack
from tests.e2e.console_helpers import (
    PASSWORD,
    WIDGET,
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
from tests.e2e.test_widget_browser import BOT_REPLY_TIMEOUT, LOG, open_chat
from tests.e2e.test_widget_handoff import VIEWPORTS

pytestmark = [pytest.mark.browser, pytest.mark.stack]

LIVE = 20_000  # ms for something pushed over a socket to show up

# id -> payload. Short, so that all of them fit in one message (2000 chars)
# and one rating comment (1000).
CORPUS: dict[str, str] = {
    "script": "<script>__pwned('script')</script>",
    "img": "\"><img src=x onerror=__pwned('img')>",
    "svg": "<svg onload=__pwned('svg')>",
    "svg-img": "<img src=\"data:image/svg+xml,<svg onload=__pwned('svgimg')>\">",
    "iframe": "<iframe srcdoc=\"<script>parent.__pwned('iframe')</script>\"></iframe>",
    "js-link": "<a href=\"javascript:__pwned('js')\">js</a>",
    "tab-link": "<a href=\"jav&#x09;ascript:__pwned('tab')\">tab</a>",
    "md-link": "[x](javascript:__pwned('md'))",
    "md-img": "![y](x\" onerror=\"__pwned('mdimg'))",
    "entities": "&lt;img src=x onerror=__pwned('ent')&gt; &#60;b&#62;",
    "details": "<details open ontoggle=__pwned('toggle')>",
    "template": "${__pwned('tpl')} {{constructor.constructor('__pwned(1)')()}}",
    "attr": "' onmouseover='__pwned(\"attr\")' x='",
    "bidi": "\u202egnp.exe<b>__pwned('bidi')</b>\u202c",
}
PAYLOADS = list(CORPUS.values())
ALL_IN_ONE = " ".join(PAYLOADS)
# An agent's display name (max 100 characters) and a visitor's name/email.
HOSTILE_NAME = "<img src=x onerror=__pwned('name')>"
# A canned response whose variable is filled with the hostile agent name.
CANNED_TEMPLATE = "${__pwned('tpl')} {{agent.name}} says hi"
CANNED_RENDERED = "${__pwned('tpl')} " + HOSTILE_NAME + " says hi"
HOSTILE_EMAIL = "\"><svg onload=__pwned('email')>@x.example"
SYSTEM_LINE = f"{CORPUS['js-link']} joined the chat"

TRAP = """
window.__xss_hits = [];
window.__pwned = (id) => { window.__xss_hits.push(String(id)); };
window.alert = window.confirm = window.prompt = (x) => { window.__pwned('dialog:' + x); };
"""

# Everything on the page, open shadow roots included: what would make a payload
# run, or show it became markup rather than text.
SCAN = r"""
() => {
  const problems = [];
  const urlAttrs = new Set(["href", "src", "action", "formaction", "xlink:href", "srcdoc",
    "data", "poster", "background", "srcset"]);
  // Attributes a payload may legitimately end up in: they are only ever text.
  const textAttrs = new Set(["title", "aria-label", "alt", "value", "placeholder", "data-sender",
    "datetime"]);
  const forbidden = new Set(["SCRIPT", "IFRAME", "OBJECT", "EMBED", "FRAME", "SVG", "MATH",
    "DETAILS", "TEMPLATE", "BASE", "META", "LINK", "STYLE", "B"]);
  const describe = (el) => el.outerHTML.slice(0, 160);
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      for (const attr of el.attributes) {
        const name = attr.name.toLowerCase();
        const value = attr.value.replace(/[\u0000-\u0020]/g, "").toLowerCase();
        if (name.startsWith("on")) problems.push(`on* attribute: ${describe(el)}`);
        if (urlAttrs.has(name) && /^(javascript|vbscript|data):/.test(value)) {
          problems.push(`dangerous URL in ${name}: ${describe(el)}`);
        }
        // (A payload inside a checked http(s) URL is only a path or query.)
        if (attr.value.includes("pwned") && !textAttrs.has(name) && !name.startsWith("data-")
            && !(urlAttrs.has(name) && /^https?:\/\//.test(value))) {
          problems.push(`payload in attribute ${name}: ${describe(el)}`);
        }
      }
      const tag = el.tagName.toUpperCase();
      if (forbidden.has(tag) && el.outerHTML.includes("pwned")) {
        problems.push(`payload became a <${tag.toLowerCase()}>: ${describe(el)}`);
      }
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  return problems;
}
"""

# All text on the page, shadow roots included.
ALL_TEXT = """
() => {
  const parts = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) walk(el.shadowRoot);
    }
    parts.push(root === document ? document.body.textContent : root.textContent);
  };
  walk(document);
  return parts.join("\\n");
}
"""


class Trap:
    """The execution trap on one browser context: payload calls and dialogs."""

    def __init__(self, context: BrowserContext) -> None:
        self.dialogs: list[str] = []
        context.add_init_script(TRAP)
        context.on("page", self.watch)

    def watch(self, page: Page) -> None:
        page.on("dialog", self.on_dialog)

    def on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_inert(self, page: Page, expected_text: list[str]) -> None:
        """Nothing ran, nothing dangerous is in the DOM, and every value is on screen as text."""
        # Handlers of broken images and the like fire asynchronously.
        page.wait_for_timeout(1_500)
        assert page.evaluate("window.__xss_hits") == [], "a payload ran"
        assert self.dialogs == [], "a payload opened a dialog"
        assert page.evaluate(SCAN) == []
        text = page.evaluate(ALL_TEXT)
        missing = [value for value in expected_text if value not in text]
        assert missing == [], "values that were not rendered as text"


def new_context(browser: Browser, device: str = "desktop") -> tuple[BrowserContext, Trap]:
    context = browser.new_context(**VIEWPORTS[device], bypass_csp=True)
    return context, Trap(context)


def new_page(context: BrowserContext) -> Page:
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    configured = os.environ.get("RAPPORT_SCREENSHOT_DIR")
    directory = Path(configured) if configured else tmp_path
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def create_hostile_agent(stack: Stack) -> str:
    """An agent whose display name is a payload (the operator's CLI); returns the username."""
    username = f"xss-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "chat_server",
            "create-agent",
            "--username",
            username,
            "--display-name",
            HOSTILE_NAME,
            "--password",
            PASSWORD,
            "--role",
            "agent",
            "--database-url",
            stack.config.database_url,
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return username


@pytest.fixture
def hostile_agent(live_stack: Stack) -> Iterator[tuple[str, Rest]]:
    username = create_hostile_agent(live_stack)
    rest = Rest(live_stack.base_url).login(username)
    assert rest.me["display_name"] == HOSTILE_NAME
    yield username, rest
    rest.clean_up()


# ---- Rich payloads written straight into the database ---------------------------------
#
# Rasa's domain cannot produce arbitrary payloads (its responses are fixed
# templates, its actions build cards from the catalog), yet a custom action,
# a future response or an older database can hold anything. So these bot (and
# agent) messages are stored directly, the way the chat server stores them,
# and reach the widget and the console through the real `history` / REST paths.


def rich_bot_payloads() -> list[dict[str, Any]]:
    """Bot messages with hostile text, URLs and cards; the last one's buttons stay live
    (the widget hides the unused buttons of older messages)."""
    js = "javascript:__pwned('href')"
    return [
        {
            "text": CORPUS["script"],
            "quick_replies": [
                {"content_type": "text", "title": CORPUS["details"], "payload": CORPUS["attr"]}
            ],
        },
        {"attachment": {"type": "image", "payload": {"src": "javascript:__pwned('attachment')"}}},
        {
            "attachment": {
                "type": "image",
                "payload": {
                    "src": "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' onload='__pwned(1)'/>"
                },
            }
        },
        {
            "custom": {
                "type": "product_cards",
                "products": [
                    {
                        "id": "\"><img src=x onerror=__pwned('pid')>",
                        "name": CORPUS["iframe"],
                        "price": "<b>9</b>",
                        "currency": "<script>",
                        "url": js,
                        "image": "data:image/svg+xml,<svg onload=__pwned('cardimg')>",
                        "reason": CORPUS["template"],
                    },
                    {
                        "id": "p2",
                        "name": CORPUS["bidi"],
                        "price": 10,
                        "currency": "USD",
                        "url": "https://example.com/\"><script>__pwned('url')</script>",
                        "image": "/static/products/x.svg\" onerror=\"__pwned('src')",
                        "description": CORPUS["md-img"],
                    },
                ],
            }
        },
        {
            "custom": {"type": "html", "html": "<img src=x onerror=__pwned('custom')>"},
            "text": CORPUS["tab-link"],
        },
        {
            "text": "Links: [click](javascript:__pwned('mdlink')) <a href=\"javascript:__pwned('a')\">a</a>",
            "buttons": [
                {"type": "web_url", "title": CORPUS["img"], "url": js},
                {
                    "type": "web_url",
                    "title": "data link",
                    "url": "data:text/html,<script>__pwned('data')</script>",
                },
                {"type": "web_url", "title": "tab link", "url": "jav\tascript:__pwned('tab')"},
                {"title": CORPUS["svg"], "payload": "/greet"},
            ],
        },
    ]


def shown_bot_texts() -> list[str]:
    """The texts of rich_bot_payloads() that must be on screen (in both apps)."""
    return [
        CORPUS["script"],
        CORPUS["img"],
        CORPUS["svg"],
        CORPUS["iframe"],
        CORPUS["tab-link"],
        CORPUS["bidi"],
    ]


def db_run(stack: Stack, work: Any) -> Any:
    """Run ``work(session)`` in a transaction on the stack's database."""

    async def run() -> Any:
        engine = create_async_engine(stack.config.database_url)
        try:
            async with async_sessionmaker(engine).begin() as session:
                return await work(session)
        finally:
            await engine.dispose()

    # Playwright's sync API already runs an event loop in this thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def store_messages(
    stack: Stack,
    visitor_id: str,
    rows: list[dict[str, Any]],
    conversation_id: int | None = None,
) -> None:
    """Append messages to a conversation of the visitor (by default the latest)."""

    async def work(session: Any) -> None:
        query = select(Conversation).where(Conversation.visitor_id == visitor_id)
        if conversation_id is not None:
            query = query.where(Conversation.id == conversation_id)
        conversation = (
            await session.execute(query.order_by(Conversation.id.desc()).limit(1))
        ).scalar_one()
        for row in rows:
            session.add(Message(conversation_id=conversation.id, visitor_id=visitor_id, **row))

    db_run(stack, work)


def hostile_history(agent_id: int) -> list[dict[str, Any]]:
    """Agent messages from the hostile agent, a system line (console only), then the bot's."""
    rows: list[dict[str, Any]] = [
        {
            "direction": "agent",
            "agent_id": agent_id,
            "text": CORPUS["md-link"],
            "payload": {"text": CORPUS["md-link"]},
        },
        {
            "direction": "agent",
            "agent_id": agent_id,
            "text": CORPUS["entities"],
            "payload": {"text": CORPUS["entities"]},
        },
        {"direction": "system", "text": SYSTEM_LINE},
    ]
    return rows + [
        {"direction": "bot", "text": payload.get("text"), "payload": payload}
        for payload in rich_bot_payloads()
    ]


# ---- The widget ------------------------------------------------------------------------


def hostile_page_url(base_url: str) -> str:
    query = urllib.parse.urlencode({"utm": CORPUS["img"], "q": CORPUS["script"]})
    return f"{base_url}/?{query}"


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_widget_shows_hostile_values_as_text(
    device: str,
    browser: Browser,
    live_stack: Stack,
    hostile_agent: tuple[str, Rest],
    screenshot_dir: Path,
) -> None:
    _, agent = hostile_agent
    base_url = live_stack.base_url
    context, trap = new_context(browser, device)
    with context:
        page = new_page(context)
        page.goto(hostile_page_url(base_url))
        expect(page.locator("#rapport-widget .launcher")).to_be_visible()
        open_chat(page)

        # Visitor text, live: the whole corpus in one turn (one Rasa turn, so
        # no fallback-in-a-row handoff), answered by the real bot.
        say(page, ALL_IN_ONE)
        expect(page.locator(f"{LOG} .msg-visitor .bubble").last).to_have_text(ALL_IN_ONE)
        expect(page.locator(f"{LOG} .msg-bot:not(.greeting)").first).to_be_visible(
            timeout=BOT_REPLY_TIMEOUT
        )
        vid = visitor_id_of(page)

        # Bot and agent payloads (with the hostile agent's name) through history.
        store_messages(live_stack, vid, hostile_history(int(agent.me["id"])))
        page.reload()
        open_chat(page)
        log = page.locator(LOG)
        expect(log.locator(".sender", has_text=HOSTILE_NAME).first).to_be_visible()
        expect(log.locator(".card-name", has_text=CORPUS["iframe"])).to_be_visible()
        expect(log.locator(".reply", has_text=CORPUS["img"])).to_be_visible()
        # Links that survive are http(s) only and open safely.
        for link in log.locator("a").all():
            assert re.match(r"^https?://", link.get_attribute("href") or ""), link.evaluate(
                "(a) => a.outerHTML"
            )
            if link.get_attribute("target") == "_blank":
                assert "noopener" in (link.get_attribute("rel") or "")
        # Images that survive are http(s) from the chat server's origin.
        for image in log.locator("img").all():
            assert (image.get_attribute("src") or "").startswith(base_url + "/")
        # A hostile image URL is dropped, not fetched: the card shows no image at all.
        expect(log.locator(".card").first.locator("img")).to_have_count(0)

        # The screenshot shows the cards, the hostile agent's name and the buttons.
        # (Only the log scrolls: scrollIntoView would shift the whole panel.)
        log.evaluate(
            "(log) => { log.scrollTop += log.querySelector('.sender').getBoundingClientRect().top"
            " - log.getBoundingClientRect().top - 8; }"
        )
        page.screenshot(path=str(screenshot_dir / f"xss-widget-{device}.png"))
        trap.assert_inert(
            page,
            [
                ALL_IN_ONE,
                HOSTILE_NAME,
                CORPUS["md-link"],
                CORPUS["entities"],
                CORPUS["details"],
                CORPUS["template"],
                CORPUS["md-img"],
                *shown_bot_texts(),
            ],
        )


# ---- The console (and the widget it talks to) ---------------------------------------


def test_console_shows_hostile_values_as_text(
    browser: Browser,
    live_stack: Stack,
    hostile_agent: tuple[str, Rest],
    screenshot_dir: Path,
) -> None:
    username, agent = hostile_agent
    base_url = live_stack.base_url
    shortcut = f"x{uuid.uuid4().hex[:6]}"
    # Template syntax that is not one of the canned-response variables is
    # refused when saved; a known variable filled with a hostile value (the
    # agent's own name) must still reach both sides as text.
    status, _ = agent.call(
        "POST", "/api/canned-responses", {"shortcut": shortcut, "text": CORPUS["template"]}
    )
    assert status == 400
    agent.ok("POST", "/api/canned-responses", {"shortcut": shortcut, "text": CANNED_TEMPLATE})
    console_context, console_trap = new_context(browser)
    visitor_context, visitor_trap = new_context(browser)
    with console_context, visitor_context:
        console = new_page(console_context)
        sign_in(console, base_url, username)
        expect(console.locator(".me-name")).to_have_text(HOSTILE_NAME)
        go_online(console, agent)

        # The visitor, on a page whose URL carries payloads, tells the bot
        # hostile values for the profile, then asks for a person.
        visitor = new_page(visitor_context)
        visitor.goto(hostile_page_url(base_url))
        expect(visitor.locator("#rapport-widget .launcher")).to_be_visible()
        open_chat(visitor)
        # Profile values first, while the bot still has the conversation (the
        # corpus itself may read as a complaint and hand the chat over).
        say(visitor, f"my name is {HOSTILE_NAME}")
        vid = visitor_id_of(visitor)

        def stored_after(before: int) -> None:
            wait_until(
                lambda: visitor_messages(live_stack, vid) > before, "the message to be stored"
            )

        stored_after(0)
        before = visitor_messages(live_stack, vid)
        say(visitor, f"my email is {HOSTILE_EMAIL}")
        stored_after(before)
        # Typed intent syntax sets entities directly in Rasa: the slot
        # validation must still refuse markup. (An intent filter may refuse the
        # message itself, so it is not awaited like the others.)
        say(visitor, "/inform" + json.dumps({"color": CORPUS["img"], "size": CORPUS["svg"]}))
        visitor.wait_for_timeout(2_000)
        before = visitor_messages(live_stack, vid)
        say(visitor, ALL_IN_ONE)
        stored_after(before)
        say(visitor, "I want to talk to a human")

        item = conversation_item(console, vid)
        expect(item).to_be_visible(timeout=BOT_REPLY_TIMEOUT + LIVE)
        item.click()
        expect(console.locator(".conv-header .chip")).to_have_text("Assigned to you")
        conversation_id = int(re.sub(r"\D", "", console.url.rsplit("/", 1)[-1]))

        # What the visitor told the bot was validated before it reached the profile.
        visitor_row = agent.ok("GET", f"/api/conversations/{conversation_id}")["visitor"]
        stored = json.dumps([visitor_row["name"], visitor_row["email"], visitor_row["profile"]])
        assert "pwned" not in stored, f"a payload reached the profile: {stored}"

        # The agent answers with payloads: typed, a canned response, an internal note.
        box = console.get_by_label(re.compile("^Reply to"))
        box.fill(CORPUS["md-link"])
        box.press("Enter")
        box.press_sequentially(f"/{shortcut}")
        expect(console.get_by_role("option", name=re.compile(shortcut))).to_be_visible()
        box.press("Tab")
        expect(box).to_have_value(CANNED_RENDERED)
        box.press("Enter")
        agent_bubbles = visitor.locator(f"{LOG} .msg-agent .bubble")
        expect(agent_bubbles.last).to_have_text(CANNED_RENDERED, timeout=LIVE)
        expect(visitor.locator(f"{WIDGET} .sender", has_text=HOSTILE_NAME).first).to_be_visible()
        console.get_by_role("button", name="Note", exact=True).click()
        note = console.get_by_label("Internal note")
        note.fill(CORPUS["attr"])
        note.press("Enter")
        log = transcript(console)
        expect(log.locator(".msg-note[data-message-id] .text")).to_have_text(CORPUS["attr"])
        console.get_by_role("button", name="Reply", exact=True).click()

        # Resolve; the visitor rates with a hostile comment.
        action(console, "Resolve").click()
        card = visitor.locator(f"{LOG} form.csat")
        expect(card).to_be_visible(timeout=LIVE)
        card.get_by_role("radio", name=re.compile(r"^2 stars")).click()
        card.get_by_label("Comment (optional)").fill(CORPUS["bidi"] + CORPUS["svg-img"])
        card.get_by_role("button", name="Submit").click()
        expect(console.locator(".csat-line")).to_contain_text(CORPUS["svg-img"], timeout=LIVE)
        visitor_trap.assert_inert(
            visitor, [ALL_IN_ONE, HOSTILE_NAME, CORPUS["md-link"], CORPUS["template"]]
        )
        visitor.screenshot(path=str(screenshot_dir / "xss-widget-handoff.png"))

        # Nobody online now: the visitor leaves a hostile message for a follow-up.
        console.get_by_label("Your status").select_option("offline")
        wait_until(lambda: agent.status_of(agent.me["id"]) == "offline", "the agent to be offline")
        say(visitor, "I want to talk to a human")
        expect(visitor.locator(f"{LOG} .msg-bot .bubble").last).to_contain_text(
            "leave your email", timeout=BOT_REPLY_TIMEOUT
        )
        say(visitor, CORPUS["js-link"] + CORPUS["svg"])
        say(visitor, "xss-test@example.com")
        followup = wait_until(
            lambda: db_run(live_stack, lambda s: latest_followup(s, vid)),
            "the follow-up",
            timeout=BOT_REPLY_TIMEOUT / 1000,
        )
        assert followup == CORPUS["js-link"] + CORPUS["svg"]

        # Values that validation would refuse today may still be in the
        # database (older versions, imports, identity claims): the console must
        # show those as text too. So the profile gets hostile values directly.
        set_hostile_profile(live_stack, vid)
        store_messages(live_stack, vid, hostile_history(int(agent.me["id"])), conversation_id)

        assert console.url.endswith(f"#/c/{conversation_id}")
        console.reload()
        panel = console.locator(".visitor-panel")
        expect(panel.locator(".visitor-name")).to_have_text(HOSTILE_NAME)
        expect(panel).to_contain_text(HOSTILE_EMAIL)
        expect(log.locator(".msg-bot .product-name", has_text=CORPUS["iframe"])).to_be_visible()
        console.screenshot(path=str(screenshot_dir / "xss-console-desktop.png"))
        console_trap.assert_inert(
            console,
            [
                ALL_IN_ONE,
                HOSTILE_NAME,
                HOSTILE_EMAIL,
                CORPUS["md-link"],
                CORPUS["template"],
                CORPUS["attr"],
                CORPUS["svg-img"],
                CORPUS["details"],
                CORPUS["entities"],
                CORPUS["img"],
                SYSTEM_LINE,
                *shown_bot_texts(),
            ],
        )

        # The follow-ups list.
        view_tab(console, "followups").click()
        entry = console.locator(".followup", has_text=CORPUS["js-link"])
        expect(entry).to_be_visible()
        href = entry.locator("a.followup-email").get_attribute("href") or ""
        assert href.startswith("mailto:")
        console_trap.assert_inert(console, [CORPUS["js-link"] + CORPUS["svg"]])


def visitor_messages(stack: Stack, visitor_id: str) -> int:
    async def work(session: Any) -> int:
        rows = await session.execute(
            select(Message.id).where(
                Message.visitor_id == visitor_id, Message.direction == "visitor"
            )
        )
        return len(rows.all())

    return int(db_run(stack, work))


async def latest_followup(session: Any, visitor_id: str) -> str | None:
    row = (
        await session.execute(
            select(Followup.message)
            .where(Followup.visitor_id == visitor_id)
            .order_by(Followup.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return None if row is None else str(row)


def set_hostile_profile(stack: Stack, visitor_id: str) -> None:
    async def work(session: Any) -> None:
        visitor = await session.get(Visitor, visitor_id)
        visitor.name = HOSTILE_NAME
        visitor.email = HOSTILE_EMAIL
        visitor.profile = {
            **(visitor.profile or {}),
            "name": HOSTILE_NAME,
            "color": CORPUS["details"],
            "interests": [CORPUS["entities"], CORPUS["img"]],
            "size": {"nested": CORPUS["svg"]},
        }

    db_run(stack, work)
