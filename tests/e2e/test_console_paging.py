"""The sidebar's "Load more" reaches every conversation of a long list, in the
list's order, while old conversations get new messages (the resolved list used
to stop at 50 of 120: it paged by id while sorted by last activity)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.models import Conversation, Message, Visitor
from dev.devstack import Stack
from tests.e2e.console_helpers import Rest, create_agent, sign_in, view_tab, wait_until
from tests.support.rows import conversations, insert_now, run_sync

pytestmark = [pytest.mark.browser, pytest.mark.stack]

N = 120


def remove(database_url: str, prefix: str) -> None:
    """Leave the shared stack as found."""

    async def run() -> None:
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as conn:
                for table in (Message, Conversation):
                    await conn.execute(delete(table).where(table.visitor_id.like(f"{prefix}%")))
                await conn.execute(delete(Visitor).where(Visitor.id.like(f"{prefix}%")))
        finally:
            await engine.dispose()

    run_sync(run)


@pytest.fixture
def admin(live_stack: Stack) -> Iterator[tuple[str, Rest]]:
    username = create_agent(live_stack, "Paige", role="admin")
    rest = Rest(live_stack.base_url).login(username)
    yield username, rest
    remove(live_stack.config.database_url, f"p{rest.me['id']}-")
    rest.call("PATCH", "/api/me", {"status": "offline"})


def note(rest: Rest, cid: int) -> None:
    rest.ok("POST", f"/api/conversations/{cid}/messages", {"text": "a later note", "note": True})


def listed(page: Page) -> list[int]:
    ids = page.locator(".conv-list a.conv").evaluate_all(
        "(links) => links.map((a) => Number(a.dataset.conversationId))"
    )
    return [int(i) for i in ids]


@pytest.mark.parametrize(("view", "state"), [("resolved", "resolved"), ("mine", "assigned")])
def test_load_more_reaches_every_conversation_once(
    page: Page,
    live_stack: Stack,
    admin: tuple[str, Rest],
    view: str,
    state: str,
    screenshot_dir: Path,
) -> None:
    username, rest = admin
    ids = insert_now(
        live_stack.config.database_url,
        conversations(state, N, rest.me["id"], prefix=f"p{rest.me['id']}-"),
    )
    # Old conversations get new messages: the list's order is not the ids'.
    for cid in ids[: N // 2]:
        note(rest, cid)
    sign_in(page, live_stack.base_url, username)
    view_tab(page, view).click()
    expect(page.locator(".conv-list a.conv").first).to_be_visible()
    button = page.locator(".list").get_by_role("button", name=re.compile(r"^Load (more|older)$"))
    clicks = 0
    while button.count():
        before = len(listed(page))
        button.click()
        clicks += 1
        wait_until(
            lambda: len(listed(page)) > before or not button.count(),  # noqa: B023
            "the next page",
        )
        if clicks == 1:
            page.screenshot(path=str(screenshot_dir / f"load-more-{view}.png"))
            # While paging: one not yet loaded gets a message (the live event
            # brings it to the top), one already loaded too (it moves up).
            for cid in (ids[N // 2], ids[0]):
                note(rest, cid)
        assert clicks < 10, "Load more never ended"
    wanted = set(ids)

    def reached() -> list[int]:
        return [i for i in listed(page) if i in wanted]

    # The live event of the last note comes within a second (published once per burst).
    try:
        wait_until(lambda: set(reached()) == wanted, "every conversation listed", timeout=10)
    finally:
        seen = reached()
        assert set(seen) == wanted, f"{view}: {len(set(seen))} of {N} reached"
    assert len(seen) == len(wanted), "a conversation is listed twice"
    expect(page.locator(".load-more [role=status]")).to_contain_text("all there are")
