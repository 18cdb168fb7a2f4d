"""The console downloads Chart.js only when the dashboard is opened (a chunk of
its own), so an agent working the inbox never pays for it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from dev.devstack import Stack
from tests.e2e.console_helpers import create_agent, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.stack]

CHART_CHUNK = re.compile(r"/static/chunks/chartjs-[A-Z0-9]+\.js$")


def test_chart_js_is_loaded_only_with_the_dashboard(page: Page, live_stack: Stack) -> None:
    admin = create_agent(live_stack, "Bea", role="admin")
    scripts: list[str] = []
    page.on(
        "request",
        lambda request: scripts.append(request.url) if request.resource_type == "script" else None,
    )
    sign_in(page, live_stack.base_url, admin)
    expect(page.get_by_role("heading", name="Mine")).to_be_visible()
    assert any(url.endswith("/static/console.js") for url in scripts), scripts
    assert not [url for url in scripts if CHART_CHUNK.search(url)], scripts

    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("canvas[role=img]").first).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('canvas')].some((c) => c.width > 0)"
    )
    assert len([url for url in scripts if CHART_CHUNK.search(url)]) == 1, scripts
