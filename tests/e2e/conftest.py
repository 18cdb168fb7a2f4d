"""Playwright fixtures for the widget browser tests (Debian's chromium, headless)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = os.environ.get("RAPPORT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def base_url(request: pytest.FixtureRequest) -> str:
    """The chat server under test: the real stack, or RAPPORT_E2E_BASE_URL when set
    (a server you already run, e.g. `make run`)."""
    override = os.environ.get("RAPPORT_E2E_BASE_URL")
    if override:
        return override.rstrip("/")
    return str(request.getfixturevalue("live_stack").base_url).rstrip("/")


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh profile per test: empty localStorage, so a fresh chat session."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    page.close()


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where a test's screenshots go: RAPPORT_SCREENSHOT_DIR when set
    (docs/screenshots/ refreshes the docs' ones), else the test's tmp dir."""
    configured = os.environ.get("RAPPORT_SCREENSHOT_DIR")
    directory = Path(configured) if configured else tmp_path
    directory.mkdir(parents=True, exist_ok=True)
    return directory
