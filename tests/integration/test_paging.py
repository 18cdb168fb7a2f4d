"""Every list in the agent API pages with a cursor in its own order (SQLite and PostgreSQL).

The bug these reproduce: the resolved list paged by "ids below the last one"
while it was sorted by last activity, so once old conversations got new
messages the pages stopped short (50 of 120 reached). Here 120 rows per list,
old ones changed before and while paging: every row is reached exactly once.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from chat_server.db.models import (
    Agent,
    Conversation,
    Followup,
    Visitor,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from tests.integration.conftest import ADMIN_TOKEN, base
from tests.support import rows as stored
from tests.support.agents import AgentClient, create_agent
from tests.support.rows import insert
from tests.support.visitor import Visitor as VisitorClient

N = 120
PAGE = 25


@pytest.fixture
async def agent(server: TestServer) -> AsyncIterator[AgentClient]:
    async with aiohttp.ClientSession() as http:
        data = await create_agent(http, base(server), ADMIN_TOKEN, name="Pat", role="admin")
    client = await AgentClient(base(server), data["username"]).login()
    yield client
    await client.close()


def conversations(state: str, agent_id: int | None = None) -> list[Any]:
    return stored.conversations(state, N, agent_id)


async def page_all(
    agent: AgentClient,
    path: str,
    field: str,
    ident: Callable[[dict[str, Any]], Any],
    between_pages: Callable[[int, set[Any]], Awaitable[None]] | None = None,
) -> list[Any]:
    """Follow next_cursor to the end; what each page listed, in order."""
    seen: list[Any] = []
    cursor = None
    sep = "&" if "?" in path else "?"
    for page in range(2 * N // PAGE + 5):
        query = f"{path}{sep}limit={PAGE}" + (f"&cursor={cursor}" if cursor else "")
        body = await agent.ok("GET", query)
        assert len(body[field]) <= PAGE
        seen += [ident(row) for row in body[field]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
        if between_pages:
            await between_pages(page, set(seen))
    raise AssertionError(f"{path}: the pages never ended")


async def note(agent: AgentClient, cid: int) -> None:
    """A new message in conversation ``cid`` (an internal note: any state takes one)."""
    await agent.ok("POST", f"/api/conversations/{cid}/messages", {"text": "later", "note": True})


@pytest.mark.parametrize(
    ("view", "state"),
    [
        ("resolved", "resolved"),
        ("mine", "assigned"),
        ("open", "assigned"),
        ("bot", "bot"),
        ("queue", "queued"),
    ],
)
async def test_every_conversation_is_reached_once_while_old_ones_get_new_messages(
    server: TestServer, database_url: str, agent: AgentClient, view: str, state: str
) -> None:
    ids = await insert(
        database_url, conversations(state, agent.id if state == "assigned" else None)
    )
    assert len(ids) == N
    # The oldest half gets new messages before anyone pages: the list's order
    # is no longer the ids' order (where paging by id stopped short).
    for cid in ids[: N // 2]:
        await note(agent, cid)
    touched_while_paging: set[int] = set()

    async def more_messages(page: int, seen: set[int]) -> None:
        # While paging: one conversation already listed and one not yet listed
        # get a message. The first must not come back; the second moves ahead
        # of the cursor (the live conversation_updated event brings it).
        listed = sorted(seen)[page]
        unlisted = next(c for c in ids if c not in seen and c not in touched_while_paging)
        for cid in (listed, unlisted):
            await note(agent, cid)
        touched_while_paging.add(unlisted)

    seen = await page_all(
        agent, f"/api/conversations?view={view}", "conversations", lambda c: c["id"], more_messages
    )
    assert len(seen) == len(set(seen)), "a conversation was listed twice"
    if view in ("queue", "resolved"):
        # Their orders (waiting since, resolved at) do not move with messages.
        assert seen == sorted(seen, reverse=view == "resolved")
        assert set(seen) == set(ids)
    else:
        moved_ahead = touched_while_paging - set(seen)
        assert set(seen) | moved_ahead == set(ids), f"{view}: reached {len(set(seen))} of {N}"
        assert len(set(seen)) >= N - len(moved_ahead)
    # A page shows the list's own order: the first page of an activity view
    # leads with the conversations that got messages last.
    first = await agent.ok("GET", f"/api/conversations?view={view}&limit={PAGE}")
    assert view == "resolved" or first["counts"][view] == N
    assert len(first["conversations"]) == PAGE and first["next_cursor"]


async def test_followups_page_newest_first_while_new_ones_arrive(
    server: TestServer, database_url: str, agent: AgentClient
) -> None:
    now = utcnow()
    rows: list[Any] = [Visitor(id="followup-visitor-0001", profile={})]
    for i in range(N):
        # Several share a time: the id breaks the tie.
        rows.append(
            Followup(
                visitor_id="followup-visitor-0001",
                email=f"v{i}@example.com",
                message=f"message {i}",
                status="open",
                created_at=now - timedelta(minutes=N - i // 3),
            )
        )
    ids = await insert(database_url, rows)

    async def new_followup(page: int, seen: set[int]) -> None:
        await insert(
            database_url,
            [Followup(visitor_id="followup-visitor-0001", email="new@example.com", message="new",
                      status="open", created_at=utcnow())],
        )  # fmt: skip

    seen = await page_all(
        agent, "/api/followups?status=open", "followups", lambda f: f["id"], new_followup
    )
    assert len(seen) == len(set(seen))
    assert set(ids) <= set(seen) and len(seen) == N  # the newer ones are ahead of the cursor
    done = await page_all(agent, "/api/followups?status=done", "followups", lambda f: f["id"])
    assert done == []


async def test_webhook_deliveries_page_newest_first(
    server: TestServer, database_url: str, agent: AgentClient
) -> None:
    (endpoint_id,) = await insert(
        database_url,
        [WebhookEndpoint(url="https://example.invalid/hook", topics=["lead"], secret="s",
                         enabled=False, last_event_id=0)],
    )  # fmt: skip
    ids = await insert(
        database_url,
        [
            WebhookDelivery(endpoint_id=endpoint_id, topic="lead", payload={"i": i},
                            status="delivered", attempts=1)
            for i in range(N)
        ],
    )  # fmt: skip
    seen = await page_all(
        agent, f"/api/webhooks/{endpoint_id}/deliveries", "deliveries", lambda d: d["id"]
    )
    assert seen == sorted(ids, reverse=True)


async def test_the_agents_directory_pages_by_name(
    server: TestServer, database_url: str, agent: AgentClient
) -> None:
    # Names repeat: the id keeps them apart.
    await insert(
        database_url,
        [
            Agent(username=f"paged-{i:03d}", display_name=f"Agent {i % 40:02d}",
                  password_hash="x", role="agent")
            for i in range(N)
        ],
    )  # fmt: skip
    seen = await page_all(agent, "/api/agents", "agents", lambda a: (a["display_name"], a["id"]))
    assert len(seen) == N + 1 and len(set(seen)) == N + 1
    assert seen == sorted(seen)
    everyone = await agent.ok("GET", "/api/agents")
    assert len(everyone["agents"]) == N + 1 and everyone["next_cursor"] is None


async def test_a_visitors_history_pages_newest_first(
    server: TestServer, database_url: str, agent: AgentClient
) -> None:
    rows: list[Any] = [Visitor(id="history-visitor-001", profile={})]
    rows += [Conversation(visitor_id="history-visitor-001", state="resolved") for _ in range(30)]
    ids = await insert(database_url, rows)
    seen = await page_all(
        agent, "/api/visitors/history-visitor-001/conversations", "conversations", lambda c: c["id"]
    )
    assert seen == sorted(ids, reverse=True)
    # The id-based parameter older clients send still works.
    older = await agent.ok(
        "GET", f"/api/visitors/history-visitor-001/conversations?limit=5&before_id={ids[10]}"
    )
    assert [c["id"] for c in older["conversations"]] == sorted(ids[:10], reverse=True)[:5]
    assert older["next_before_id"] == sorted(ids[:10], reverse=True)[4]


async def test_live_visitors_page_longest_on_site_first(
    server: TestServer, agent: AgentClient
) -> None:
    visitors = [VisitorClient() for _ in range(12)]
    try:
        for v in visitors:
            await v.connect(base(server))
        seen: list[str] = []
        cursor = None
        while True:
            body = await agent.ok(
                "GET", "/api/visitors/live?limit=5" + (f"&cursor={cursor}" if cursor else "")
            )
            assert body["total"] == 12
            seen += [v["visitor_id"] for v in body["visitors"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(v.visitor_id for v in visitors)
        assert len(seen) == 12
    finally:
        for v in visitors:
            await v.close()


def forged(name: str) -> str:
    raw = json.dumps([name, "2026-01-01T00:00:00+00:00", 1]).encode()
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(
    "path",
    [
        "/api/conversations?view=open",
        "/api/followups",
        "/api/agents",
        "/api/visitors/live",
        "/api/visitors/someone/conversations",
    ],
)
async def test_a_bad_cursor_is_a_clear_400(
    server: TestServer, agent: AgentClient, path: str
) -> None:
    sep = "&" if "?" in path else "?"
    for cursor in ("garbage!", forged("resolved"), "A" * 1000):
        status, body = await agent.call("GET", f"{path}{sep}cursor={cursor}")
        assert status == 400, (path, cursor, status, body)
        assert body["error"] == "invalid" and "cursor" in body["message"]
