"""The chat server with Rasa and the action server down (nothing listening).

No fake stands in for Rasa here: the ports are simply closed, which is the
fault being tested.
"""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.models import Visitor as VisitorRow
from tests.integration.conftest import ADMIN_TOKEN, base
from tests.integration.helpers import stored_events, stored_messages
from tests.support.tokens import tampered
from tests.support.visitor import Visitor


async def test_rasa_down_gives_a_polite_reply_and_keeps_the_message(server: TestServer) -> None:
    visitor = Visitor(rapport=True)
    await visitor.connect(base(server))
    replies = await visitor.say("hello, anyone there?")
    assert len(replies) == 1
    assert "unavailable" in replies[0]["text"]
    assert replies[0]["custom"] == {"type": "assistant_unavailable"}
    await visitor.close()

    rows = await stored_messages(server.settings.database_url)  # type: ignore[attr-defined]
    assert (rows[0].direction, rows[0].text) == ("visitor", "hello, anyone there?")
    assert rows[1].direction == "bot" and rows[1].id == replies[0]["message_id"]
    assert len(await stored_events(server.settings.database_url, "rasa_unavailable")) == 1  # type: ignore[attr-defined]


async def test_health_details_report_each_part_to_local_callers(server: TestServer) -> None:
    async with aiohttp.ClientSession() as http, http.get(base(server) + "/healthz/details") as resp:
        body = await resp.json()
        assert resp.status == 503
    assert body["ok"] is False
    assert body["database"]["ok"] is True
    assert body["rasa"]["ok"] is False
    assert body["action_server"]["ok"] is False


async def test_public_health_answer_tells_nothing_but_liveness(server: TestServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(base(server) + "/healthz") as resp:
            assert resp.status == 200
            assert await resp.json() == {"ok": True}
            assert resp.headers["Server"] == "Rapport"  # no versions
        # Through a proxy (X-Forwarded-For) the caller is not local: details only
        # with the operator's token.
        forwarded = {"X-Forwarded-For": "203.0.113.9"}
        async with http.get(base(server) + "/healthz/details", headers=forwarded) as resp:
            assert resp.status == 403
            assert "database" not in await resp.text()
        operator = {**forwarded, "Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with http.get(base(server) + "/healthz/details", headers=operator) as resp:
            assert resp.status == 503
            assert "database" in await resp.json()


async def test_forged_session_id_gets_a_fresh_visitor(server: TestServer) -> None:
    first = Visitor()
    confirm = await first.connect(base(server))
    await first.close()

    forged = tampered(confirm["session_id"])
    second = Visitor()
    confirm2 = await second.connect(base(server), session_id=forged)
    assert confirm2["session_id"] != confirm["session_id"]
    assert confirm2["session_id"].split(".")[0] != confirm["session_id"].split(".")[0]
    await second.close()


async def test_valid_session_id_resumes_with_history(server: TestServer) -> None:
    first = Visitor()
    confirm = await first.connect(base(server))
    await first.say("remember me")
    await first.close()

    again = Visitor()
    confirm2 = await again.connect(base(server), session_id=confirm["session_id"])
    assert confirm2["session_id"] == confirm["session_id"]
    history = await again.next("history")
    assert history["messages"][0]["text"] == "remember me"
    await again.close()


async def test_text_that_cannot_be_stored_is_refused_and_the_server_carries_on(
    server: TestServer,
) -> None:
    visitor = Visitor()
    await visitor.connect(base(server))
    for message, code in (
        ("broken \ud800 surrogate", "invalid_payload"),
        ("\x00\x00\x00", "empty_message"),
        ("\u200b\u200d\ufeff ", "empty_message"),
    ):
        await visitor.sio.emit(
            "user_uttered", {"message": message, "session_id": visitor.session_id}
        )
        assert (await visitor.next("error"))["code"] == code
    # NUL inside real text is dropped, the rest is kept; the server still answers.
    replies = await visitor.say("hello\x00 there")
    assert replies and replies[0]["text"]
    rows = await stored_messages(server.settings.database_url)  # type: ignore[attr-defined]
    assert [r.text for r in rows if r.direction == "visitor"] == ["hello there"]
    await visitor.close()


async def test_only_real_products_can_be_clicked(server: TestServer) -> None:
    url = server.settings.database_url  # type: ignore[attr-defined]
    visitor = Visitor()
    await visitor.connect(base(server))
    await visitor.sio.emit(
        "card_clicked", {"session_id": visitor.session_id, "product_id": "x" * 90}
    )
    assert (await visitor.next("error"))["code"] == "unknown_product"
    await visitor.sio.emit(
        "card_clicked", {"session_id": visitor.session_id, "product_id": "tent-ridge-2"}
    )
    # Wait until the click is in the profile: the handler has finished its work.
    engine = create_async_engine(url)
    try:
        for _ in range(100):
            async with engine.connect() as conn:
                profile = (
                    await conn.execute(
                        select(VisitorRow.profile).where(VisitorRow.id == visitor.visitor_id)
                    )
                ).scalar_one()
            if profile.get("products_clicked"):
                break
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()
    assert profile["products_clicked"] == ["tent-ridge-2"]
    clicks = await stored_events(url, "card_clicked")
    assert [c.data["product_id"] for c in clicks] == ["tent-ridge-2"]
    await visitor.close()
