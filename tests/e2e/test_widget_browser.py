"""The embeddable widget and the demo store, driven in headless Chromium
against the real stack (chat server + Rasa + action server)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, Locator, Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.stack]

BOT_REPLY_TIMEOUT = 30_000  # ms; the first Rasa turn of a run can be slow

# Locators pierce open shadow roots, so these find elements inside the widget.
LAUNCHER = "#rapport-widget .launcher"
PANEL = "#rapport-widget [role=dialog]"
LOG = "#rapport-widget [role=log]"


def open_store(page: Page, base_url: str) -> None:
    page.goto(base_url + "/")
    expect(page.locator(LAUNCHER)).to_be_visible()


def open_chat(page: Page) -> Locator:
    page.get_by_role("button", name=re.compile(r"^Open chat")).click()
    panel = page.locator(PANEL)
    expect(panel).to_be_visible()
    return panel


def send(page: Page, text: str) -> None:
    box = page.get_by_label("Type your message")
    box.fill(text)
    box.press("Enter")


def bot_turns(page: Page) -> Locator:
    return page.locator(f"{LOG} .msg-bot:not(.greeting), {LOG} .cards")


def shadow_eval(page: Page, script: str) -> Any:
    """Evaluate `script` (a function body) with `root` bound to the widget's shadow root."""
    return page.evaluate(
        "(body) => new Function('root', body)(document.getElementById('rapport-widget').shadowRoot)",
        script,
    )


def test_store_page_and_first_exchange(page: Page, base_url: str) -> None:
    open_store(page, base_url)
    expect(page).to_have_title(re.compile("Trailhead Outfitters"))
    # The catalog is rendered into the grid with product anchors.
    expect(page.locator("#grid li[id^=product-]").first).to_be_visible()

    open_chat(page)
    send(page, "hi")
    expect(page.locator(f"{LOG} .msg-visitor .bubble").last).to_have_text("hi")
    expect(bot_turns(page).first).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
    # The session id the server confirmed is kept for the next visit.
    assert page.evaluate("localStorage.getItem('rapport.session_id')")


def test_product_cards_and_quick_replies(page: Page, base_url: str) -> None:
    sent_frames: list[str] = []
    page.on(
        "websocket", lambda ws: ws.on("framesent", lambda payload: sent_frames.append(str(payload)))
    )
    open_store(page, base_url)
    open_chat(page)

    send(page, "show me tents")
    card = page.locator(f"{LOG} .card").first
    expect(card).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
    expect(card.locator(".card-name")).not_to_be_empty()
    expect(card.locator(".card-price")).to_have_text(re.compile(r"\d"))
    image = card.locator("img.card-img")
    expect(image).to_be_visible()
    page.wait_for_function(
        "() => [...document.getElementById('rapport-widget').shadowRoot.querySelectorAll('img.card-img')]"
        ".every((img) => img.complete && img.naturalWidth > 0)"
    )

    # Quick replies / buttons: offered after the cards, or else after a greeting.
    # (Not "talk to a human": that hands off and the bot goes quiet.)
    replies = page.locator(f"{LOG} .replies button.reply:enabled").filter(
        has_not_text=re.compile(r"human|agent|person", re.I)
    )
    try:
        expect(replies.first).to_be_visible(timeout=5_000)
    except AssertionError:
        send(page, "hi")
        expect(replies.first).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
    choice = replies.first
    title = choice.inner_text().strip()
    turns_before = bot_turns(page).count()
    choice.click()
    expect(page.locator(f"{LOG} .msg-visitor .bubble").last).to_have_text(title)
    # The set the choice came from is spent (the bot may already have offered
    # a new set: it can answer within a few tens of milliseconds).
    expect(page.locator(f"{LOG} .replies:has(.reply.chosen)")).to_have_class(
        re.compile(r"\bused\b")
    )
    expect(page.locator(f"{LOG} .replies:has(.reply.chosen) button.reply:enabled")).to_have_count(0)
    expect(page.locator(f"{LOG} .reply.chosen")).to_be_disabled()
    page.wait_for_function(
        "(n) => document.getElementById('rapport-widget').shadowRoot"
        ".querySelectorAll('[role=log] .msg-bot:not(.greeting), [role=log] .cards').length > n",
        arg=turns_before,
        timeout=BOT_REPLY_TIMEOUT,
    )

    # Opening a card reports the click to the server and follows the link.
    product_id = card.get_attribute("data-product-id")
    assert product_id is not None
    card.locator(".card-link").click()
    page.wait_for_function("(id) => location.hash === '#product-' + id", arg=product_id)
    # The widget connects over WebSocket first, so the event shows up as a frame.
    for _ in range(50):
        if any("card_clicked" in f and product_id in f for f in sent_frames):
            break
        page.wait_for_timeout(100)
    else:
        pytest.fail(f"no card_clicked frame for {product_id!r} was sent")


def test_message_markup_is_rendered_as_text(page: Page, base_url: str) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    open_store(page, base_url)
    open_chat(page)
    payload = "<img src=x onerror=alert(1)>"
    send(page, payload)
    bubble = page.locator(f"{LOG} .msg-visitor .bubble").last
    expect(bubble).to_have_text(payload)
    expect(bot_turns(page).first).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
    assert shadow_eval(page, "return root.querySelectorAll('img').length") == 0
    assert page.evaluate("document.querySelectorAll('img[src=x], img[src$=\"/x\"]').length") == 0
    assert dialogs == []


def test_host_page_css_does_not_leak_into_widget(page: Page, base_url: str) -> None:
    open_store(page, base_url)
    open_chat(page)
    send(page, "hi")
    expect(bot_turns(page).first).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
    probe = """
        const pick = (sel) => { const s = getComputedStyle(root.querySelector(sel));
                                return [s.color, s.fontSize, s.fontFamily]; };
        return { bot: pick('.msg-bot .bubble'), visitor: pick('.msg-visitor .bubble'),
                 title: pick('.title'), input: pick('input') };
    """
    before = shadow_eval(page, probe)
    page.add_style_tag(
        content="* { color: red !important; font-size: 40px !important; font-family: serif !important }"
    )
    # The rule really applies to the host page...
    expect(page.locator("h1").first).to_have_css("color", "rgb(255, 0, 0)")
    after = shadow_eval(page, probe)
    # ...but not inside the widget.
    assert after == before
    for color, size, _ in after.values():
        assert color != "rgb(255, 0, 0)"
        assert size != "40px"


def test_panel_is_full_screen_on_phones(browser: Browser, base_url: str) -> None:
    context = browser.new_context(
        viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        open_store(page, base_url)
        panel = open_chat(page)
        box = panel.bounding_box()
        assert box is not None
        assert box["x"] <= 0.5 and box["y"] <= 0.5
        assert box["width"] >= 374.5 and box["height"] >= 666.5
        expect(page.get_by_label("Type your message")).to_be_in_viewport()

        # Covering the page, the panel is a modal dialog: Tab and Shift+Tab
        # cycle through its controls and never reach the page behind it.
        expect(panel).to_have_attribute("aria-modal", "true")
        focus = "return root.activeElement ? root.activeElement.id || root.activeElement.className : null"
        controls = shadow_eval(
            page,
            "return [...root.querySelectorAll('[role=dialog] button, [role=dialog] input,"
            ' [role=dialog] [tabindex="0"]\')].length',
        )
        for key in ("Tab", "Shift+Tab"):
            seen = set()
            for _ in range(controls + 2):
                page.keyboard.press(key)
                assert (
                    page.evaluate("document.activeElement && document.activeElement.id")
                    == "rapport-widget"
                )
                seen.add(shadow_eval(page, focus))
            # Wrapped around: every control was reached, nothing outside the panel.
            assert {"close", "log", "rapport-input", "send"} <= seen, seen
            assert None not in seen and "launcher" not in seen
        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        expect(panel).not_to_have_attribute("aria-modal", "true")
    finally:
        context.close()


def test_keyboard_open_escape_returns_focus(page: Page, base_url: str) -> None:
    open_store(page, base_url)
    launcher = page.locator(LAUNCHER)
    launcher.focus()
    page.keyboard.press("Enter")
    expect(page.locator(PANEL)).to_be_visible()
    # A corner panel on a wide screen leaves the page usable: not modal.
    expect(page.locator(PANEL)).not_to_have_attribute("aria-modal", "true")
    # Focus moves into the composer when the panel opens.
    assert (
        shadow_eval(page, "return root.activeElement && root.activeElement.id") == "rapport-input"
    )
    page.keyboard.press("Escape")
    expect(page.locator(PANEL)).to_be_hidden()
    assert shadow_eval(page, "return root.activeElement === root.querySelector('.launcher')")
    assert page.evaluate("document.activeElement.id") == "rapport-widget"
