"""A visitor row costs nothing until the visitor does something worth storing
(issue 21, section 2): sessions and page views store no `visitors` row; the
first message, card click, conversion or identity creates it, and the
per-address new-visitor limit counts those creations, not session requests.

Real in-process chat server, real socket.io clients, SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.models import InteractionEvent
from chat_server.db.models import Visitor as VisitorRow
from tests.integration.conftest import base, start_server
from tests.integration.test_identity_transitions import db, rows
from tests.support.visitor import Visitor

FLOOD = 1000


async def count_visitors(database_url: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(VisitorRow)) or 0)
    finally:
        await engine.dispose()


async def event_types(database_url: str, visitor_id: str) -> list[str]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            types = await conn.scalars(
                select(InteractionEvent.type)
                .where(InteractionEvent.visitor_id == visitor_id)
                .order_by(InteractionEvent.id)
            )
            return list(types)
    finally:
        await engine.dispose()


async def test_a_flood_of_sessions_without_messages_stores_no_visitor(
    server: TestServer,
) -> None:
    clients = [Visitor() for _ in range(4)]
    for client in clients:
        await client.sio.connect(base(server), transports=["websocket"])
    try:
        for i in range(FLOOD):
            await clients[i % len(clients)].sio.emit("session_request", {"session_id": None})
        for client in clients:
            while len(client.seen("session_confirm")) < FLOOD // len(clients):
                await client.wait_for("session_confirm", after=len(client.log))
        confirmed = [c["session_id"] for client in clients for c in client.seen("session_confirm")]
    finally:
        for client in clients:
            await client.close()
    assert len(confirmed) == FLOOD
    assert len({s.split(".")[0] for s in confirmed}) == FLOOD  # a visitor id each
    assert await count_visitors(db(server)) == 0


async def test_an_unstored_visitor_keeps_its_id_until_it_speaks(server: TestServer) -> None:
    browser = Visitor(rapport=True)
    first = await browser.connect(base(server))
    await browser.sio.emit("page_view", {"url": "http://127.0.0.1/tents", "title": "Tents"})
    await browser.sio.emit("widget_opened", {"url": "http://127.0.0.1/tents"})
    await asyncio.sleep(0.5)
    await browser.close()
    assert await count_visitors(db(server)) == 0
    # Page events are logged without a row (the event log has no foreign key).
    assert sorted(await event_types(db(server), browser.visitor_id)) == [
        "page_view",
        "widget_opened",
    ]

    # The next page presents the same id: the same visitor, nothing rotated.
    again = Visitor(rapport=True)
    second = await again.connect(base(server), session_id=first["session_id"])
    assert second["session_id"] == first["session_id"]
    await again.say("hello")
    await again.close()

    stored = await rows(db(server))
    assert list(stored) == [browser.visitor_id]
    row = stored[browser.visitor_id]
    assert row.session_generation == 0
    types = await event_types(db(server), browser.visitor_id)
    assert types.count("visitor_created") == 1
    assert types.index("visitor_created") > max(
        types.index("page_view"), types.index("widget_opened")
    )


async def test_a_card_click_or_a_conversion_stores_the_visitor(server: TestServer) -> None:
    clicker = Visitor(rapport=True)
    await clicker.connect(base(server))
    await clicker.sio.emit(
        "card_clicked", {"session_id": clicker.session_id, "product_id": "swift-trail-runner"}
    )
    buyer = Visitor(rapport=True)
    await buyer.connect(base(server))
    ack = await buyer.sio.call("track", {"name": "purchase", "properties": {"value": 10}})
    assert ack["ok"] is True
    await asyncio.sleep(0.5)
    await clicker.close()
    await buyer.close()
    assert set(await rows(db(server))) == {clicker.visitor_id, buyer.visitor_id}


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"


async def test_the_new_visitor_limit_counts_stored_visitors_only(sqlite_url: str) -> None:
    srv = await start_server(sqlite_url, rate_limit_new_visitors_per_ip="3/hour")
    visitors = [Visitor() for _ in range(5)]
    try:
        for visitor in visitors:  # five people behind one address open the chat
            await visitor.connect(base(srv))
        assert await count_visitors(sqlite_url) == 0
        answered = []
        for visitor in visitors:  # ... and all of them write
            ack = await visitor.sio.call(
                "user_uttered", {"message": "hi", "session_id": visitor.session_id}, timeout=10
            )
            answered.append(ack["ok"] or ack["code"])
        assert answered == [True, True, True, "rate_limited", "rate_limited"]
        assert await count_visitors(sqlite_url) == 3
        # A visitor already stored is not a new one: still welcome.
        ack = await visitors[0].sio.call(
            "user_uttered", {"message": "again", "session_id": visitors[0].session_id}, timeout=10
        )
        assert ack["ok"] is True
    finally:
        for visitor in visitors:
            await visitor.close()
        await srv.close()


async def test_a_socket_asking_for_sessions_again_and_again_is_slowed_down(
    sqlite_url: str,
) -> None:
    """Sessions cost no row, but each request still costs work: per connection
    they count against the signals limit (one per page load is the norm)."""
    srv = await start_server(sqlite_url, rate_limit_signals="3/10 seconds")
    client = Visitor()
    try:
        await client.sio.connect(base(srv), transports=["websocket"])
        for _ in range(10):
            await client.sio.emit("session_request", {"session_id": None})
        await client.wait_for("error", lambda e: e["code"] == "rate_limited")
        await asyncio.sleep(0.5)
        assert len(client.seen("session_confirm")) == 3
        # Another connection (the next page load) is served.
        other = Visitor()
        await other.connect(base(srv))
        await other.close()
    finally:
        await client.close()
        await srv.close()
    assert await count_visitors(sqlite_url) == 0


async def test_a_socket_that_ignores_rate_limits_is_closed(sqlite_url: str) -> None:
    """Each refused packet still costs the event loop every visitor shares: a
    client that keeps sending instead of waiting `retry_after` is closed."""
    from chat_server.transport.visitor import STRIKES_BEFORE_CLOSE

    srv = await start_server(sqlite_url, rate_limit_signals="3/10 seconds")
    client = Visitor()
    try:
        await client.sio.connect(base(srv), transports=["websocket"])
        # Below the threshold: refused, still connected.
        for _ in range(3 + STRIKES_BEFORE_CLOSE - 1):
            await client.sio.emit("session_request", {"session_id": None})
        await asyncio.sleep(1)
        assert client.sio.connected
        # One refusal more in a row: closed, with a last word.
        await client.sio.emit("session_request", {"session_id": None})
        for _ in range(100):
            if not client.sio.connected:
                break
            await asyncio.sleep(0.05)
        assert not client.sio.connected
        assert any("disconnected" in e.get("message", "") for e in client.seen("error")), (
            client.seen("error")
        )
        # The next page load is served as usual.
        other = Visitor()
        await other.connect(base(srv))
        await other.close()
    finally:
        await client.close()
        await srv.close()
