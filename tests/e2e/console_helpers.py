"""Helpers for the console browser tests: agent accounts, a small REST client
for set-up and clean-up, and the few console/widget steps the tests share."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from http.cookiejar import CookieJar
from typing import Any

from playwright.sync_api import Locator, Page, expect

from dev.devstack import ROOT, Stack

PASSWORD = "console-test-password-1"
WIDGET = "#rapport-widget"


def create_agent(stack: Stack, display_name: str, max_chats: int = 3, role: str = "agent") -> str:
    """A fresh agent account in the stack's database (the operator's CLI); returns the username."""
    username = f"{display_name.lower()}-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "chat_server",
            "create-agent",
            "--username",
            username,
            "--display-name",
            display_name,
            "--password",
            PASSWORD,
            "--role",
            role,
            "--max-chats",
            str(max_chats),
            "--database-url",
            stack.config.database_url,
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return username


class Rest:
    """A logged-in agent over REST (cookie + CSRF), for set-up, checks and clean-up."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.csrf = ""
        self.me: dict[str, Any] = {}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        # The URL is the test stack's own http:// address.
        request = urllib.request.Request(  # noqa: S310
            self.base_url + path, data=data, method=method
        )
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.csrf:
            request.add_header("X-CSRF-Token", self.csrf)
        try:
            with self.opener.open(request, timeout=30) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw) if raw else None
            except ValueError:
                return error.code, raw.decode(errors="replace")

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, data = self.call(method, path, body)
        assert status < 300, f"{method} {path}: {status} {data}"
        return data

    def login(self, username: str, password: str = PASSWORD) -> Rest:
        data = self.ok("POST", "/api/auth/login", {"username": username, "password": password})
        self.csrf = data["csrf_token"]
        self.me = data["agent"]
        return self

    def status_of(self, agent_id: int) -> str:
        agents = self.ok("GET", "/api/agents")["agents"]
        return str(next(a["status"] for a in agents if a["id"] == agent_id))

    def clean_up(self) -> None:
        """Leave the shared stack as found: nothing assigned to this agent, and offline."""
        mine = self.ok("GET", "/api/conversations?view=mine")["conversations"]
        for conversation in mine:
            self.call("POST", f"/api/conversations/{conversation['id']}/resolve")
        self.call("PATCH", "/api/me", {"status": "offline"})


def wait_until(predicate: Any, what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


# ---- The console --------------------------------------------------------------------


def sign_in(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base_url + "/console")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Your status")).to_be_visible()


def go_online(page: Page, rest: Rest) -> None:
    """Pick "Online" in the console and wait until the server has it (routing depends on it)."""
    page.get_by_label("Your status").select_option("online")
    expect(page.locator(".banner-warn")).to_have_count(0)
    wait_until(lambda: rest.status_of(rest.me["id"]) == "online", "the agent to be online")


def conversation_item(page: Page, visitor_id: str) -> Locator:
    """The list entry of a visitor without a name ("Visitor 1a2b3c")."""
    return page.locator("a.conv", has_text=f"Visitor {visitor_id[:6]}")


def transcript(page: Page) -> Locator:
    return page.locator(".transcript[role=log]")


def view_tab(page: Page, view: str) -> Locator:
    return page.locator(f"a.view-tab[data-view={view}]")


def action(page: Page, name: str) -> Locator:
    """A button in the open conversation's header."""
    return page.locator(".conv-actions").get_by_role("button", name=re.compile(rf"^\s*{name}"))


# ---- The visitor's widget -----------------------------------------------------------


def visitor_id_of(page: Page) -> str:
    page.wait_for_function("() => !!localStorage.getItem('rapport.session_id')")
    return str(page.evaluate("localStorage.getItem('rapport.session_id')")).split(".")[0]


def say(page: Page, text: str) -> None:
    box = page.get_by_label("Type your message")
    box.fill(text)
    box.press("Enter")
