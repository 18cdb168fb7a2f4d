"""What the widget remembers across page loads, and for whom: the transcript
comes back after a reload, never reaches another visitor, and a forged session
id earns a fresh, empty conversation. Real stack, headless Chromium."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocketRoute, expect

from chat_server.verification import user_hash
from tests.conftest import IDENTITY_SECRET
from tests.e2e.test_widget_browser import BOT_REPLY_TIMEOUT, LOG, open_chat, open_store, send

pytestmark = [pytest.mark.browser, pytest.mark.stack]

SESSION_KEY = "rapport.session_id"

# The transcript as the visitor sees it, one entry per log row: who, the
# bubble texts, and the product ids of any cards. Reply buttons are left out:
# live and restored ones differ on purpose (stale ones are disabled).
TRANSCRIPT_JS = """
() => {
  const log = document.getElementById('rapport-widget').shadowRoot.querySelector('[role=log]');
  return [...log.children].filter((row) => !row.classList.contains('greeting')
                                           && !row.classList.contains('note')).map((row) => ({
    who: row.classList.contains('msg-visitor') ? 'visitor' : 'bot',
    texts: [...row.querySelectorAll('.bubble')].map((b) => b.textContent),
    cards: [...row.querySelectorAll('.card')].map((c) => c.dataset.productId),
    mid: row.dataset.mid || null,
  }));
}
"""


def transcript(page: Page) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = page.evaluate(TRANSCRIPT_JS)
    return rows


def session_id(page: Page) -> str | None:
    stored: str | None = page.evaluate("(key) => localStorage.getItem(key)", SESSION_KEY)
    return stored


def wait_for_session(page: Page, not_equal: str | None = None) -> str:
    """Wait until the widget has stored a confirmed session id (other than `not_equal`)."""
    page.wait_for_function(
        "([key, old]) => { const v = localStorage.getItem(key); return !!v && v !== old; }",
        arg=[SESSION_KEY, not_equal],
    )
    value = session_id(page)
    assert value
    return value


def wait_for_rows(page: Page, count: int) -> None:
    page.wait_for_function(
        "(n) => document.getElementById('rapport-widget').shadowRoot"
        ".querySelectorAll('[role=log] > :not(.greeting):not(.note)').length >= n",
        arg=count,
        timeout=BOT_REPLY_TIMEOUT,
    )


def chat_with_tents(page: Page, base_url: str) -> list[dict[str, Any]]:
    """Say "hi" and "show me tents" on the store; the transcript once the cards are in."""
    open_store(page, base_url)
    open_chat(page)
    send(page, "hi")
    # A bot row after the visitor's "hi" (row 0): the greeting answer.
    wait_for_rows(page, 2)
    send(page, "show me tents")
    expect(page.locator(f"{LOG} .card").first).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
    return transcript(page)


def visitor_texts(rows: list[dict[str, Any]]) -> list[str]:
    return [t for r in rows if r["who"] == "visitor" for t in r["texts"]]


def test_transcript_survives_a_reload(page: Page, base_url: str) -> None:
    before = chat_with_tents(page, base_url)
    stored = session_id(page)
    assert stored
    assert visitor_texts(before) == ["hi", "show me tents"]
    assert any(r["cards"] for r in before)

    page.reload()
    expect(page.locator("#rapport-widget .launcher")).to_be_visible()
    open_chat(page)
    # History arrives right after session_confirm; wait for all of it.
    wait_for_rows(page, len(before))
    after = transcript(page)

    # Everything from before, once, in the server's order. (Live, a bubble
    # typed while a reply was still streaming in sits after that reply; the
    # server stored it after it, which is where history puts it. A bot reply
    # still in flight at the reload may come last.)
    def content(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(r["who"], r["texts"], r["cards"]) for r in rows]

    bots_before = [r for r in content(before) if r[0] == "bot"]
    bots_after = [r for r in content(after) if r[0] == "bot"]
    assert bots_after[: len(bots_before)] == bots_before
    assert len(after) - len(before) == len(bots_after) - len(bots_before)
    assert visitor_texts(after) == ["hi", "show me tents"]
    assert content(after)[0] == ("visitor", ["hi"], [])
    tents = content(after).index(("visitor", ["show me tents"], []))
    assert all(not r[2] for r in content(after)[:tents])  # the cards answer "show me tents"
    mids = [r["mid"] for r in after]
    assert None not in mids and len(set(mids)) == len(mids)
    assert mids == sorted(mids, key=int)
    expect(page.locator(f"{LOG} .card").first).to_be_visible()
    assert session_id(page) == stored


def test_a_message_whose_ack_was_lost_keeps_its_place_after_a_reload(
    page: Page, base_url: str
) -> None:
    """The ack of a bot-answered message comes after the bot's replies. A
    reload in between (the replies are on screen, the ack is not) leaves the
    message in the widget's outbox: the new page shows and re-sends it (the
    server knows the client id: not stored twice), and history must still put
    it after "hi" and before its own answer, as the server stored it."""
    drop_acks = [False]

    def proxy(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            # Socket.IO acks on the default namespace are "43<id>[...]".
            if drop_acks[0] and isinstance(message, str) and message.startswith("43"):
                return
            ws.send(message)

        server.on_message(from_server)

    page.route_web_socket(re.compile(r"/socket\.io/"), proxy)
    open_store(page, base_url)
    open_chat(page)
    send(page, "hi")
    wait_for_rows(page, 2)
    drop_acks[0] = True
    send(page, "show me tents")
    expect(page.locator(f"{LOG} .card").first).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
    before = transcript(page)
    assert (
        page.evaluate("(key) => localStorage.getItem(key)", "rapport.outbox").count("show me tents")
        == 1
    ), "the lost ack leaves the message waiting in the outbox"

    drop_acks[0] = False
    page.reload()
    open_chat(page)
    wait_for_rows(page, len(before))
    page.wait_for_function(
        "() => !localStorage.getItem('rapport.outbox')"
        " || !localStorage.getItem('rapport.outbox').includes('show me tents')"
    )
    after = transcript(page)
    assert visitor_texts(after) == ["hi", "show me tents"]
    assert after[0]["who"] == "visitor" and after[0]["texts"] == ["hi"]
    tents = visitor_texts(after).index("show me tents")
    tents_row = [i for i, r in enumerate(after) if r["who"] == "visitor"][tents]
    assert all(not r["cards"] for r in after[:tents_row])  # the cards answer it
    assert any(r["cards"] for r in after[tents_row:])
    mids = [r["mid"] for r in after]
    assert None not in mids and len(set(mids)) == len(mids)
    assert mids == sorted(mids, key=int)


def test_other_visitors_see_nothing(browser: Browser, page: Page, base_url: str) -> None:
    first = chat_with_tents(page, base_url)
    first_id = session_id(page)
    assert first_id and any(r["cards"] for r in first)
    visitor_id = first_id.split(".", 1)[0]

    # Another browser, and one that guesses the first visitor's id but cannot sign it.
    forged = f"{visitor_id}.{'A' * 27}"
    for presented in (None, forged):
        other = browser.new_context(viewport={"width": 1280, "height": 800})
        try:
            if presented:
                plant_session_id(other, presented)
            page2 = other.new_page()
            page2.set_default_timeout(30_000)
            open_store(page2, base_url)
            open_chat(page2)
            own_id = wait_for_session(page2, not_equal=presented)
            assert own_id.split(".", 1)[0] != visitor_id
            # A turn of its own: by the time its reply is in, any history the
            # server sent after session_confirm (same socket, in order) is too.
            send(page2, "hello")
            wait_for_rows(page2, 2)
            rows = transcript(page2)
            assert visitor_texts(rows) == ["hello"]
            assert not any(r["cards"] for r in rows)
            expect(page2.locator(f"{LOG} .card")).to_have_count(0)
        finally:
            other.close()


def plant_session_id(context: BrowserContext, value: str) -> None:
    """Put `value` in localStorage before any page script (the widget) runs."""
    context.add_init_script(
        f"try {{ if (location.protocol.startsWith('http')) localStorage.setItem({json.dumps(SESSION_KEY)}, {json.dumps(value)}); }} catch (e) {{}}"
    )


def test_forged_session_id_gets_fresh_empty_session(context: BrowserContext, base_url: str) -> None:
    plant_session_id(context, "abc.def")
    page = context.new_page()
    page.set_default_timeout(30_000)
    open_store(page, base_url)
    open_chat(page)
    fresh = wait_for_session(page, not_equal="abc.def")
    assert re.fullmatch(r"[0-9a-f]{32}\.[\w.-]+", fresh)
    send(page, "hi")
    wait_for_rows(page, 2)
    rows = transcript(page)
    assert visitor_texts(rows) == ["hi"]
    assert rows[0]["who"] == "visitor"
    assert session_id(page) == fresh


# --- Identity claims (logged-in customers) ---------------------------------

# Remembers the page's WebSockets so a test can drop the connection and watch
# the widget reconnect (Socket.IO picks up window.WebSocket when it loads).
KEEP_SOCKETS_JS = """
(() => {
  const Native = window.WebSocket;
  window.__rapportSockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.__rapportSockets.push(this); }
  };
})();
"""

# Adds data-* attributes to the widget's <script> tag as the parser inserts
# it, before it runs: the demo store page, as a site would render it for a
# signed-in customer. (A page served by page.route() cannot be used: Chromium's
# local-network-access checks then block the WebSocket to 127.0.0.1.)
SCRIPT_ATTRS_JS = """
((attrs) => {
  new MutationObserver((records, observer) => {
    for (const r of records) for (const node of r.addedNodes) {
      if (node.tagName === 'SCRIPT' && /widget\\.js$/.test(node.src || '')) {
        for (const [k, v] of Object.entries(attrs)) node.setAttribute('data-' + k, v);
        observer.disconnect();
      }
    }
  }).observe(document, {childList: true, subtree: true});
})(%s);
"""


def identity_page(
    page: Page, base_url: str, attrs: dict[str, str], global_identity: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """Open the demo store with the widget's script tag carrying `attrs` and,
    when given, `window.RapportIdentity` set before the widget loads. Returns
    a list that collects the `session_request` payloads the page sends."""
    requests: list[dict[str, Any]] = []

    def on_frame(payload: str | bytes) -> None:
        text = payload if isinstance(payload, str) else payload.decode()
        if text.startswith('42["session_request"'):
            requests.append(json.loads(text[2:])[1])

    page.on("websocket", lambda ws: ws.on("framesent", on_frame))
    page.add_init_script(KEEP_SOCKETS_JS)
    if attrs:
        page.add_init_script(SCRIPT_ATTRS_JS % json.dumps(attrs))
    if global_identity:
        page.add_init_script(f"window.RapportIdentity = {json.dumps(global_identity)};")
    open_store(page, base_url)
    return requests


def drop_connection(page: Page) -> None:
    page.evaluate("() => window.__rapportSockets.forEach((ws) => ws.close())")


def wait_until(
    page: Page, predicate: Callable[[], object], message: str, timeout_ms: int = 15_000
) -> None:
    for _ in range(timeout_ms // 100):
        if predicate():
            return
        page.wait_for_timeout(100)
    pytest.fail(message)


def test_identity_claim_is_sent_on_every_connect(page: Page, base_url: str) -> None:
    attrs = {"user-id": "attr-1", "user-hash": "a" * 64, "user-name": "Attr"}
    claim = {
        "user_id": "global-7",
        "user_hash": user_hash(IDENTITY_SECRET, "global-7"),
        "name": "Priya",
        "email": "priya@example.com",
    }
    requests = identity_page(page, base_url, attrs, claim)
    wait_until(page, lambda: len(requests) >= 1, "no session_request was sent")
    # The global wins over the attributes, whole: fields are never mixed.
    assert requests[0]["identity"] == claim
    first_id = wait_for_session(page)

    drop_connection(page)
    wait_until(page, lambda: len(requests) >= 2, "no session_request after the connection dropped")
    assert requests[1]["identity"] == claim
    assert requests[1]["session_id"] == first_id


def test_identity_from_script_attributes(page: Page, base_url: str) -> None:
    attrs = {
        "user-id": "attr-1",
        "user-hash": "a" * 64,
        "user-name": "Attr",
        "user-email": "attr@example.com",
    }
    requests = identity_page(page, base_url, attrs, None)
    wait_until(page, lambda: len(requests) >= 1, "no session_request was sent")
    assert requests[0]["identity"] == {
        "user_id": "attr-1",
        "user_hash": "a" * 64,
        "name": "Attr",
        "email": "attr@example.com",
    }


def test_rejected_identity_continues_anonymously(page: Page, base_url: str) -> None:
    # A claim whose hash does not match is refused.
    attrs = {"user-id": "bad-claim", "user-hash": "c" * 64, "user-email": "bad@example.com"}
    requests = identity_page(page, base_url, attrs, None)
    open_chat(page)
    note = page.locator(f"{LOG} .note", has_text=re.compile("couldn.t confirm your account", re.I))
    expect(note).to_have_count(1)
    assert "identity" in requests[0]
    anonymous_id = wait_for_session(page)

    # The claim is not presented again: the reconnect resumes the anonymous visitor.
    drop_connection(page)
    wait_until(page, lambda: len(requests) >= 2, "no session_request after the connection dropped")
    assert "identity" not in requests[1]
    assert requests[1]["session_id"] == anonymous_id
    send(page, "hi")
    wait_for_rows(page, 2)
    expect(note).to_have_count(1)


def test_customer_sees_their_conversation_on_another_device(
    browser: Browser, page: Page, base_url: str
) -> None:
    user_id = f"e2e-{uuid.uuid4().hex}"
    claim = {"user_id": user_id, "user_hash": user_hash(IDENTITY_SECRET, user_id), "name": "Sam"}
    identity_page(page, base_url, {}, claim)
    open_chat(page)
    send(page, "show me tents")
    expect(page.locator(f"{LOG} .card").first).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
    before = transcript(page)

    device = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        other = device.new_page()
        other.set_default_timeout(30_000)
        identity_page(other, base_url, {}, claim)
        open_chat(other)
        wait_for_rows(other, len(before))
        assert visitor_texts(transcript(other)) == ["show me tents"]
        expect(other.locator(f"{LOG} .card").first).to_be_visible()
    finally:
        device.close()


def test_customer_session_is_not_resumed_after_logout(
    context: BrowserContext, base_url: str
) -> None:
    page = context.new_page()
    page.set_default_timeout(30_000)
    user_id = f"e2e-{uuid.uuid4().hex}"
    identity_page(
        page, base_url, {}, {"user_id": user_id, "user_hash": user_hash(IDENTITY_SECRET, user_id)}
    )
    open_chat(page)
    send(page, "show me tents")
    expect(page.locator(f"{LOG} .card").first).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
    customer_session = session_id(page)
    page.close()

    # Same browser, no identity on the page: the customer logged out.
    anon = context.new_page()
    anon.set_default_timeout(30_000)
    open_store(anon, base_url)
    open_chat(anon)
    wait_for_session(anon, not_equal=customer_session)
    send(anon, "hello")
    wait_for_rows(anon, 2)
    assert visitor_texts(transcript(anon)) == ["hello"]
    expect(anon.locator(f"{LOG} .card")).to_have_count(0)


# --- Forgetting a visitor (history reset) -----------------------------------


def test_history_reset_clears_transcript(page: Page, base_url: str) -> None:
    """The widget side of a reset, on the real stack with the reset frames
    injected into the live socket: the chat server sends them after the bot
    confirms a forget request (docs/protocol.md, *Forgetting a visitor*)."""
    sockets = []

    def proxy(ws: WebSocketRoute) -> None:
        ws.connect_to_server()  # everything else passes through untouched
        sockets.append(ws)

    page.route_web_socket(re.compile(r"/socket\.io/"), proxy)
    before = chat_with_tents(page, base_url)
    assert len(before) >= 4
    old_id = session_id(page)

    fresh = "f" * 32 + ".injected"
    sockets[-1].send(f'42["session_confirm",{{"session_id":"{fresh}"}}]')
    sockets[-1].send('42["history",{"messages":[],"reset":true}]')
    page.wait_for_function(
        "() => document.getElementById('rapport-widget').shadowRoot"
        ".querySelectorAll('[role=log] > :not(.greeting):not(.note)').length === 0"
    )
    expect(page.locator(f"{LOG} .note", has_text="conversation was cleared")).to_have_count(1)
    expect(page.locator(f"{LOG} .card")).to_have_count(0)
    assert session_id(page) == fresh != old_id


def test_forget_me_starts_over(page: Page, base_url: str) -> None:
    before = chat_with_tents(page, base_url)
    old_id = session_id(page)
    send(page, "Please forget me and delete my data")
    wait_for_rows(page, len(before) + 2)  # the bot asks for confirmation first
    send(page, "yes")
    new_id = wait_for_session(page, not_equal=old_id)
    page.wait_for_function(
        "() => document.getElementById('rapport-widget').shadowRoot"
        ".querySelectorAll('[role=log] > :not(.greeting):not(.note)').length === 0"
    )
    assert before
    # The next page load resumes the fresh, empty visitor.
    page.reload()
    open_chat(page)
    send(page, "hi")
    wait_for_rows(page, 2)
    assert visitor_texts(transcript(page)) == ["hi"]
    assert session_id(page) == new_id
