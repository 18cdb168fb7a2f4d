"""Sign-out on a shared browser (issue 21, section 1): after `Rapport.logout()`,
or once the page stops sending the identity, the widget starts a fresh
anonymous session and shows and sends nothing of the customer. Real stack
(chat server, Rasa, action server), headless Chromium, desktop and phone.

Screenshots of the signed-out widget go to var/screenshots/.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from chat_server.verification import user_hash
from tests.conftest import IDENTITY_SECRET
from tests.e2e.axe import assert_accessible
from tests.e2e.test_widget_browser import LOG, open_chat, open_store, send
from tests.e2e.test_widget_memory import (
    identity_page,
    session_id,
    transcript,
    visitor_texts,
    wait_for_rows,
    wait_for_session,
)

pytestmark = [pytest.mark.browser, pytest.mark.stack]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
PRIVATE = "my order 40417 to 12 Hidden Lane is late"
STORAGE_JS = "() => Object.fromEntries(Object.keys(localStorage).map((k) => [k, localStorage[k]]))"


@pytest.fixture(params=list(VIEWPORTS))
def device(request: pytest.FixtureRequest, browser: Browser) -> Iterator[BrowserContext]:
    width, height = VIEWPORTS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    context.device_name = request.param  # type: ignore[attr-defined]
    yield context
    context.close()


def customer_claim() -> dict[str, str]:
    user_id = f"e2e-{uuid.uuid4().hex}"
    return {
        "user_id": user_id,
        "user_hash": user_hash(IDENTITY_SECRET, user_id),
        "name": "Cara",
        "email": "cara@shop.example",
    }


def new_page(context: BrowserContext) -> Page:
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def customer_chats(page: Page, base_url: str, claim: dict[str, str]) -> str:
    """The signed-in customer asks something private; their session id."""
    identity_page(page, base_url, {}, claim)
    open_chat(page)
    send(page, PRIVATE)
    wait_for_rows(page, 2)
    return wait_for_session(page)


def assert_nothing_of_the_customer(
    page: Page, customer_session: str, signed_in: bool = False
) -> None:
    """A fresh session (anonymous, or another customer's): its own id, only its own messages."""
    fresh = wait_for_session(page, not_equal=customer_session)
    assert fresh.split(".", 1)[0] != customer_session.split(".", 1)[0]
    send(page, "hello")
    # By the time the bot answered, any history the server sent is in too.
    wait_for_rows(page, 2)
    assert visitor_texts(transcript(page)) == ["hello"]
    expect(page.locator(LOG)).not_to_contain_text("40417")
    stored = page.evaluate(STORAGE_JS)
    assert (stored.get("rapport.session_user") != "") is signed_in
    assert PRIVATE not in str(stored)
    assert customer_session not in str(stored)


def test_rapport_logout_starts_a_fresh_anonymous_session(
    device: BrowserContext, base_url: str
) -> None:
    page = new_page(device)
    customer_session = customer_chats(page, base_url, customer_claim())
    assert visitor_texts(transcript(page)) == [PRIVATE]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = device.device_name  # type: ignore[attr-defined]
    page.screenshot(path=str(SCREENSHOTS / f"widget-before-logout-{name}.png"))

    page.evaluate("() => window.Rapport.logout()")
    page.wait_for_function(
        "() => document.getElementById('rapport-widget').shadowRoot"
        ".querySelectorAll('[role=log] > :not(.greeting)').length === 0"
    )
    assert_nothing_of_the_customer(page, customer_session)
    assert_accessible(page, "#rapport-widget")
    page.screenshot(path=str(SCREENSHOTS / f"widget-after-logout-{name}.png"))


@pytest.mark.parametrize("next_person", ["anonymous", "customer_b"])
def test_the_next_person_sees_and_sends_nothing_of_the_customer(
    device: BrowserContext, base_url: str, next_person: str
) -> None:
    """The site's next page carries no identity (signed out), or another
    customer's (verified A, then verified B on the same browser)."""
    claim = customer_claim()
    page = new_page(device)
    customer_session = customer_chats(page, base_url, claim)
    page.close()

    # The customer's connection is gone while they type: the message waits in
    # the widget's outbox (localStorage) to be sent on the next page.
    offline = new_page(device)
    offline.route_web_socket(re.compile(r"/socket\.io/"), lambda ws: None)
    identity_page(offline, base_url, {}, claim)
    open_chat(offline)
    send(offline, "unsent: my card ends 4242")
    assert "4242" in str(offline.evaluate(STORAGE_JS))
    offline.close()

    # They sign out; the site's next page carries no identity, or B's.
    following = new_page(device)
    if next_person == "anonymous":
        open_store(following, base_url)
    else:
        identity_page(following, base_url, {}, customer_claim())
    open_chat(following)
    assert_nothing_of_the_customer(
        following, customer_session, signed_in=next_person != "anonymous"
    )
    expect(following.locator(LOG)).not_to_contain_text("4242")
    assert session_id(following) != customer_session
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = device.device_name  # type: ignore[attr-defined]
    following.screenshot(path=str(SCREENSHOTS / f"widget-next-{next_person}-{name}.png"))
