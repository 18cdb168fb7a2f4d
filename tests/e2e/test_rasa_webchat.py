"""The published rasa-webchat 1.0.1 (npm), unchanged, against the chat server.

rasa-webchat renders a `bot_uttered` only when its keys are exactly the ones
it knows ({text}, {text, quick_replies}, ...): any extension field (a
message id, a sender) makes it draw nothing. These tests see its DOM render
the greeting with its quick replies, a product answer, and, during a handoff,
the queue and join announcements and a human agent's message.
"""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import Page, expect

from dev.devstack import Stack
from tests.e2e.test_widget_browser import BOT_REPLY_TIMEOUT
from tests.e2e.test_widget_handoff import Background, busy_agent, conversation_of, wait_for
from tests.e2e.webchat_page import (
    CLIENT_TEXT,
    QUICK_REPLY,
    bot_texts,
    send,
    webchat_site,
)
from tests.support.cut_proxy import CutProxy

pytestmark = [pytest.mark.browser, pytest.mark.stack]

SESSION_KEY = "chat_session"  # where rasa-webchat 1.0.1 keeps its state (sessionStorage here)


def webchat_session_id(page: Page) -> str:
    """The session id rasa-webchat kept from `session_confirm`."""
    page.wait_for_function(
        "(key) => { const s = JSON.parse(sessionStorage.getItem(key) || 'null');"
        " return !!(s && s.session_id); }",
        arg=SESSION_KEY,
    )
    return str(
        page.evaluate("(key) => JSON.parse(sessionStorage.getItem(key)).session_id", SESSION_KEY)
    )


def test_greeting_quick_replies_and_products(page: Page, live_stack: Stack) -> None:
    with webchat_site(live_stack.base_url) as url:
        page.goto(url)
        # initPayload "/greet": the greeting, with its buttons as quick replies.
        greeting = bot_texts(page).filter(has_text="Trailhead Outfitters assistant")
        expect(greeting).to_have_count(1, timeout=BOT_REPLY_TIMEOUT)
        replies = page.locator(QUICK_REPLY)
        expect(replies.filter(has_text="Find gear")).to_have_count(1)
        expect(replies.filter(has_text="Current promotions")).to_have_count(1)

        # A quick reply is sent as its payload and answered.
        before = bot_texts(page).count()
        replies.filter(has_text="Current promotions").click()
        expect(page.locator(CLIENT_TEXT).last).to_have_text("Current promotions")
        page.wait_for_function(
            "(n) => document.querySelectorAll('#rw-messages .rw-response').length > n",
            arg=before,
            timeout=BOT_REPLY_TIMEOUT,
        )

        # A product question: the answer's text (cards are a custom payload).
        send(page, "I'm looking for a tent")
        expect(page.locator(CLIENT_TEXT).last).to_have_text("I'm looking for a tent")
        answer = bot_texts(page).filter(has_text=re.compile(r"tents? I'd recommend", re.I))
        expect(answer).to_have_count(1, timeout=BOT_REPLY_TIMEOUT)
        expect(bot_texts(page).filter(has_text="Want me to narrow it down?")).to_have_count(1)


def test_agent_messages_during_handoff(page: Page, live_stack: Stack) -> None:
    with (
        Background() as background,
        busy_agent(background, live_stack, "Sam") as (sam, conversation_ids),
        webchat_site(live_stack.base_url) as url,
    ):
        page.goto(url)
        expect(bot_texts(page).first).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
        visitor_id = webchat_session_id(page).split(".")[0]

        send(page, "I want to talk to a human")
        # Queued behind Sam's other chat: told so in plain text.
        expect(bot_texts(page).filter(has_text="You're number 1 in line")).to_have_count(
            1, timeout=BOT_REPLY_TIMEOUT
        )
        queued = background.run(
            wait_for(lambda: conversation_of(sam, visitor_id, "queue"), "the visitor in the queue")
        )
        conversation_ids.append(queued["id"])
        cid = queued["id"]

        background.run(sam.ok("POST", f"/api/conversations/{cid}/accept"))
        joined = bot_texts(page).filter(has_text="Sam from our team has joined the chat")
        expect(joined).to_have_count(1)
        background.run(
            sam.ok(
                "POST",
                f"/api/conversations/{cid}/messages",
                {"text": "Hi, this is Sam from support"},
            )
        )
        expect(bot_texts(page).filter(has_text="Hi, this is Sam from support")).to_have_count(1)

        # And the visitor's answer reaches Sam, not the bot.
        send(page, "My order never arrived")
        background.run(
            wait_for(
                lambda: any(
                    name == "message_created"
                    and data["message"]["text"] == "My order never arrived"
                    for name, data in sam.log
                ),
                "the visitor's message at the agent",
            )
        )


def test_a_reconnect_misses_nothing_and_shows_nothing_twice(page: Page, live_stack: Stack) -> None:
    """The connection drops while the agent keeps writing: once rasa-webchat is
    back (its own reconnect, no reload) it shows what it missed, once each, in
    order; rasa-webchat has no message ids, so the server must send each once."""
    with (
        Background() as background,
        busy_agent(background, live_stack, "Kim") as (kim, conversation_ids),
        CutProxy(live_stack.config.chat_port) as proxy,
        webchat_site(proxy.url) as url,
    ):
        page.goto(url)
        expect(bot_texts(page).first).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
        visitor_id = webchat_session_id(page).split(".")[0]
        send(page, "I want to talk to a human")
        queued = background.run(
            wait_for(lambda: conversation_of(kim, visitor_id, "queue"), "the visitor in the queue")
        )
        cid = queued["id"]
        conversation_ids.append(cid)
        background.run(kim.ok("POST", f"/api/conversations/{cid}/accept"))

        def say(text: str) -> None:
            background.run(kim.ok("POST", f"/api/conversations/{cid}/messages", {"text": text}))

        say("before the drop")
        expect(bot_texts(page).filter(has_text="before the drop")).to_have_count(1)

        # The network drops; the server sees the visitor leave.
        mark = len(kim.log)
        proxy.cut(block=True)
        background.run(
            wait_for(
                lambda: any(
                    name == "visitor_presence"
                    and data.get("visitor_id") == visitor_id
                    and data.get("online") is False
                    for name, data in kim.log[mark:]
                ),
                "the visitor offline",
            )
        )
        away = [f"while you were away ({i})" for i in range(1, 4)]
        for text in away:
            say(text)
        # Back: rasa-webchat reconnects on its own and asks for its session again.
        proxy.let_through()
        background.run(
            wait_for(
                lambda: any(
                    name == "visitor_presence"
                    and data.get("visitor_id") == visitor_id
                    and data.get("online") is True
                    for name, data in kim.log[mark:]
                ),
                "the visitor back online",
                timeout=30,
            )
        )
        say("after the reconnect")
        expect(bot_texts(page).filter(has_text="after the reconnect")).to_have_count(1)
        page.wait_for_timeout(1000)  # anything late or repeated would show by now

        expected = ["before the drop", *away, "after the reconnect"]
        shown = [t.strip() for t in bot_texts(page).all_inner_texts()]
        shown = [t for t in shown if t in expected]
        missing = len(set(expected) - set(shown))
        duplicated = len(shown) - len(set(shown))
        firsts = list(dict.fromkeys(shown))
        out_of_order = sum(
            1 for a, b in itertools.pairwise(firsts) if expected.index(a) > expected.index(b)
        )
        print(
            f"\nrasa-webchat across a reconnect: missing={missing} "
            f"duplicated={duplicated} out_of_order={out_of_order}"
        )
        assert (missing, duplicated, out_of_order) == (0, 0, 0), shown
