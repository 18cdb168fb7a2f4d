"""An admin signs an agent out everywhere, deactivates and reactivates them in the
console's Agents screen; the agent's own console (another browser) follows at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from dev.devstack import Stack
from tests.e2e.axe import assert_accessible
from tests.e2e.console_helpers import create_agent, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.stack]

# The agent's console notices a closed socket at once; a generous bound for a busy machine.
GONE = 10_000


def signed_out(page: Page) -> None:
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=GONE)


def test_admin_signs_out_deactivates_and_reactivates_an_agent(
    page: Page, browser: Browser, live_stack: Stack, screenshot_dir: Path
) -> None:
    admin = create_agent(live_stack, "Ava", role="admin")
    agent = create_agent(live_stack, "Dana")
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations
    sign_in(page, live_stack.base_url, admin)
    page.get_by_role("link", name="Agents").click()
    expect(page.get_by_role("heading", name="Agents", exact=True)).to_be_visible()

    dana_context = browser.new_context()
    dana = dana_context.new_page()
    try:
        sign_in(dana, live_stack.base_url, agent)
        row = page.locator(".team-item", has_text=agent)
        page.reload()  # the list as it is now (Dana connected)
        expect(row.get_by_text("connected")).to_be_visible()

        # Sign out everywhere: Dana's open console drops to the sign-in screen.
        row.get_by_role("button", name="Sign out everywhere: Dana").click()
        signed_out(dana)
        expect(page.get_by_text("Dana is signed out everywhere.")).to_be_visible()

        # Deactivate: signed out again, and the sign-in says why.
        sign_in(dana, live_stack.base_url, agent)
        row.get_by_role("button", name="Deactivate Dana").click()
        signed_out(dana)
        expect(row.get_by_text("deactivated")).to_be_visible()
        dana.get_by_label("Username").fill(agent)
        dana.get_by_label("Password").fill("console-test-password-1")
        dana.get_by_role("button", name="Sign in").click()
        expect(dana.get_by_role("alert")).to_have_text("This account is deactivated; ask an admin")

        assert_accessible(page, "main.team")
        page.screenshot(path=str(screenshot_dir / "agents-admin-desktop.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        assert_accessible(page, "main.team")
        page.screenshot(path=str(screenshot_dir / "agents-admin-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})

        # Reactivate: the same password works again.
        row.get_by_role("button", name="Reactivate Dana").click()
        expect(row.get_by_role("button", name="Deactivate Dana")).to_be_visible()
        dana.get_by_label("Password").fill("console-test-password-1")
        dana.get_by_role("button", name="Sign in").click()
        expect(dana.get_by_label("Your status")).to_be_visible()

    finally:
        dana_context.close()
