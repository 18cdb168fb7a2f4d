"""An admin signing in to the console behind a proxy missing from TRUSTED_PROXIES
sees a banner naming the setting; an agent sees none.

A real chat-server process (Rasa is not needed for this screen) and Chromium.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from dev.devstack import ROOT
from tests.e2e.axe import assert_accessible
from tests.e2e.console_helpers import PASSWORD, sign_in
from tests.support.server_process import chat_server_process

pytestmark = pytest.mark.browser


def cli_agent(database_url: str, username: str, role: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "chat_server",
            "create-agent",
            "--username",
            username,
            "--display-name",
            username.title(),
            "--password",
            PASSWORD,
            "--role",
            role,
            "--database-url",
            database_url,
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with chat_server_process(tmp_path) as srv:
        cli_agent(srv.database_url, "admin-ada", "admin")
        cli_agent(srv.database_url, "agent-bo", "agent")
        yield srv.base
    # The log said it once, naming the setting.
    assert srv.log.read_text().count("TRUSTED_PROXIES=127.0.0.1") == 1


def forwarded_request(base: str) -> None:
    """What a reverse proxy on this machine sends: the visitor's address in X-Forwarded-For."""
    # The URL is this test's own server on 127.0.0.1.
    request = urllib.request.Request(  # noqa: S310
        base + "/catalog.json", headers={"X-Forwarded-For": "198.51.100.23"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200


def test_admins_see_a_banner_naming_trusted_proxies(
    browser: Browser, server: str, screenshot_dir: Path
) -> None:
    forwarded_request(server)
    forwarded_request(server)
    desktop = browser.new_context(viewport={"width": 1280, "height": 800})
    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    try:
        page = desktop.new_page()
        sign_in(page, server, "admin-ada")
        banner = page.get_by_role("region", name="Configuration warnings")
        expect(banner).to_contain_text("Set TRUSTED_PROXIES")
        expect(banner).to_contain_text("TRUSTED_PROXIES=127.0.0.1")
        expect(banner).to_be_visible()
        assert_accessible(page, "section.banners")
        page.screenshot(path=str(screenshot_dir / "console-proxy-warning-desktop.png"))
        # Still there on the admin's other screens (agents, webhooks).
        for screen in ("Agents", "Webhooks"):
            page.get_by_role("link", name=screen).click()
            expect(page.get_by_role("region", name="Configuration warnings")).to_be_visible()

        mobile = phone.new_page()
        sign_in(mobile, server, "admin-ada")
        expect(mobile.get_by_role("region", name="Configuration warnings")).to_be_visible()
        assert_accessible(mobile, "section.banners")
        mobile.screenshot(path=str(screenshot_dir / "console-proxy-warning-phone.png"))

        agent = desktop.new_page()
        desktop.clear_cookies()
        sign_in(agent, server, "agent-bo")
        expect(agent.get_by_text("TRUSTED_PROXIES")).to_have_count(0)
    finally:
        desktop.close()
        phone.close()
