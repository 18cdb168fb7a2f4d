"""Visitor identity: signed ids, verified customers (transitions between
anonymous and customers: test_identity_transitions.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestServer
from itsdangerous import Signer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.models import Visitor as VisitorRow
from chat_server.verification import user_hash
from tests.integration.conftest import IDENTITY_SECRET, base, start_server
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

    for bad in (
        {"user_id": "cust-2", "user_hash": "0" * 64},
        {"user_id": "cust-2"},
        {"user_id": "cust-2", "user_hash": user_hash("wrong-secret", "cust-2")},
        {"user_id": ""},
        "cust-2",
    ):
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


async def test_identity_claims_are_refused_when_no_secret_is_configured(
    database_url: str,
) -> None:
    srv = await start_server(database_url, identity_secret=None)
    try:
        intruder = Visitor()
        await intruder.sio.connect(base(srv), transports=["websocket"])
        claim = {"user_id": "cust-9", "user_hash": "0" * 64, "name": "Not Me"}
        await intruder.sio.emit("session_request", {"session_id": None, "identity": claim})
        error = await intruder.next("error")
        assert error["code"] == "identity_rejected"
        assert "not configured" in error["message"]
        await intruder.next("session_confirm")
        await intruder.close()
        # Refused: an anonymous visitor, who has stored nothing yet (no row).
        assert await visitor_rows(database_url) == []
    finally:
        await srv.close()


async def age(database_url: str, visitor_id: str, **columns: timedelta) -> None:
    """Move a visitor's timestamps into the past (last_seen_at, session_rotated_at)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            now = datetime.now(UTC)
            await conn.execute(
                update(VisitorRow)
                .where(VisitorRow.id == visitor_id)
                .values(**{name: now - ago for name, ago in columns.items()})
            )
    finally:
        await engine.dispose()


async def test_a_copied_session_id_stops_working_after_the_next_visit(
    server: TestServer,
) -> None:
    url = base(server)
    owner = Visitor()
    first = await owner.connect(url)
    await owner.say("my private question")
    await owner.close()
    copied = first["session_id"]

    # Within the visit the id is stable (clients treat a new id as a new chat).
    again = Visitor()
    assert (await again.connect(url, session_id=copied))["session_id"] == copied
    await again.close()

    # The owner comes back two hours later: same visitor, new id.
    await age(server.settings.database_url, owner.visitor_id, last_seen_at=timedelta(hours=2))  # type: ignore[attr-defined]
    returning = Visitor()
    rotated = (await returning.connect(url, session_id=copied))["session_id"]
    assert rotated.split(".")[0] == owner.visitor_id and rotated != copied
    await returning.close()

    # Right after the rotation the old copy still works (a second tab racing it)...
    tab = Visitor()
    assert (await tab.connect(url, session_id=copied))["session_id"].split(".")[0] == (
        owner.visitor_id
    )
    await tab.close()
    # ... but not once the grace period is over: whoever holds it is a stranger.
    database_url = server.settings.database_url  # type: ignore[attr-defined]
    await age(database_url, owner.visitor_id, session_rotated_at=timedelta(minutes=5))
    thief = Visitor()
    stolen = await thief.connect(url, session_id=copied)
    assert stolen["session_id"].split(".")[0] != owner.visitor_id
    await thief.say("hello?")
    assert "history" not in thief.received
    await thief.close()

    # The owner's current id still resumes them, with their history.
    owner_again = Visitor()
    assert (await owner_again.connect(url, session_id=rotated))["session_id"].split(".")[0] == (
        owner.visitor_id
    )
    assert await history_texts(owner_again) == ["my private question"]
    await owner_again.close()


async def test_ids_from_before_rotation_existed_work_once(server: TestServer) -> None:
    url = base(server)
    owner = Visitor()
    await owner.connect(url)
    await owner.say("hi")  # stored: legacy ids name stored visitors
    await owner.close()
    secret = server.settings.secret_key.get_secret_value()  # type: ignore[attr-defined]
    legacy = Signer(secret, salt="rapport.visitor-session").sign(owner.visitor_id).decode()

    upgraded = Visitor()
    confirm = await upgraded.connect(url, session_id=legacy)
    assert confirm["session_id"].split(".")[0] == owner.visitor_id
    assert confirm["session_id"] != legacy
    await upgraded.close()

    database_url = server.settings.database_url  # type: ignore[attr-defined]
    await age(database_url, owner.visitor_id, session_rotated_at=timedelta(minutes=5))
    replay = Visitor()
    assert (await replay.connect(url, session_id=legacy))["session_id"].split(".")[0] != (
        owner.visitor_id
    )
    await replay.close()
