"""Visitor identity: signed ids, verified customers, anonymous → customer merge."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.models import Visitor as VisitorRow
from chat_server.verification import user_hash
from tests.integration.conftest import IDENTITY_SECRET, base
from tests.support.visitor import Visitor


def identity(user_id: str, **extra: str) -> dict[str, str]:
    return {"user_id": user_id, "user_hash": user_hash(IDENTITY_SECRET, user_id), **extra}


async def visitor_rows(database_url: str) -> list[VisitorRow]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(select(VisitorRow))).all())  # type: ignore[arg-type]
    finally:
        await engine.dispose()


async def history_texts(visitor: Visitor) -> list[str]:
    history = await visitor.next("history")
    return [m["text"] for m in history["messages"] if m["direction"] == "visitor"]


async def test_valid_hmac_is_accepted_and_profile_recorded(server: TestServer) -> None:
    customer = Visitor()
    await customer.connect(
        base(server), identity=identity("cust-1", name="Priya", email="priya@example.com")
    )
    assert "error" not in customer.received
    await customer.close()
    rows = {r.id: r for r in await visitor_rows(server.settings.database_url)}  # type: ignore[attr-defined]
    row = rows[customer.visitor_id]
    assert (row.external_id, row.name, row.email) == ("cust-1", "Priya", "priya@example.com")


async def test_invalid_hmac_is_refused_and_reveals_nothing(server: TestServer) -> None:
    owner = Visitor()
    await owner.connect(base(server), identity=identity("cust-2"))
    await owner.say("my secret order question")
    await owner.close()

    for bad in ({"user_id": "cust-2", "user_hash": "0" * 64},
                {"user_id": "cust-2"},
                {"user_id": "cust-2", "user_hash": user_hash("wrong-secret", "cust-2")},
                {"user_id": ""},
                "cust-2"):
        intruder = Visitor()
        await intruder.sio.connect(base(server), transports=["websocket"])
        await intruder.sio.emit("session_request", {"session_id": None, "identity": bad})
        error = await intruder.next("error")
        assert error["code"] == "identity_rejected"
        confirm = await intruder.next("session_confirm")
        assert confirm["session_id"].split(".")[0] != owner.visitor_id
        intruder.session_id = confirm["session_id"]
        await intruder.say("hi")  # a round trip: a history event would have arrived by now
        assert "history" not in intruder.received
        await intruder.close()


async def test_anonymous_visitor_merges_into_known_customer(server: TestServer) -> None:
    url = base(server)
    laptop = Visitor()
    await laptop.connect(url, identity=identity("cust-3", name="Sam"))
    await laptop.say("asked on my laptop")
    await laptop.close()

    phone = Visitor()
    anon = await phone.connect(url)
    await phone.say("asked on my phone before logging in")
    await phone.close()

    phone_logged_in = Visitor()
    confirm = await phone_logged_in.connect(
        url, session_id=anon["session_id"], identity=identity("cust-3")
    )
    assert confirm["session_id"].split(".")[0] == laptop.visitor_id
    assert await history_texts(phone_logged_in) == [
        "asked on my laptop", "asked on my phone before logging in"
    ]
    await phone_logged_in.close()

    ids = {r.id for r in await visitor_rows(server.settings.database_url)}  # type: ignore[attr-defined]
    assert phone.visitor_id not in ids, "the anonymous visitor was merged away"


async def test_first_identification_keeps_the_anonymous_history(server: TestServer) -> None:
    browser = Visitor()
    anon = await browser.connect(base(server))
    await browser.say("hello as nobody")
    await browser.close()

    again = Visitor()
    confirm = await again.connect(
        base(server), session_id=anon["session_id"], identity=identity("cust-4")
    )
    assert confirm["session_id"] == anon["session_id"]
    assert await history_texts(again) == ["hello as nobody"]
    await again.close()


async def test_customer_session_is_not_resumed_without_their_identity(server: TestServer) -> None:
    customer = Visitor()
    confirm = await customer.connect(base(server), identity=identity("cust-5"))
    await customer.say("private")
    await customer.close()

    after_logout = Visitor()
    fresh = await after_logout.connect(base(server), session_id=confirm["session_id"])
    assert fresh["session_id"] != confirm["session_id"]
    await after_logout.say("hi")  # a round trip: a history event would have arrived by now
    assert "history" not in after_logout.received
    await after_logout.close()
