"""Identity transitions on one browser (issue 21, section 1), against the real
in-process chat server with real socket.io clients, on SQLite and PostgreSQL
(Rasa absent: messages are stored and answered with the "unavailable" reply).

A verified customer never inherits anything from an anonymous session: no
profile field, no consent, no message. Only a claim whose HMAC covers
``merge_anonymous`` carries the anonymous visitor's current conversation over,
and even then consent and the customer's verified e-mail stay where they were.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.models import InteractionEvent, Message
from chat_server.db.models import Visitor as VisitorRow
from tests.integration.conftest import IDENTITY_SECRET, base
from tests.support.visitor import Visitor

ANON_EMAIL = "attacker@evil.example"
CUSTOMER_EMAIL = "cara@shop.example"
CONSENT_AT = "2026-01-02T03:04:05+00:00"


def backend_hash(user_id: str, merge: str | None = None) -> str:
    """The hash as the README tells a site's backend to compute it."""
    message = user_id if merge is None else f"{user_id}\0merge_anonymous={merge}"
    return hmac.new(IDENTITY_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()


def identity(user_id: str, merge: str | None = None, **extra: str) -> dict[str, str]:
    """A claim as the site's backend signs it (``merge``: the signed merge_anonymous)."""
    claim = {"user_id": user_id, "user_hash": backend_hash(user_id, merge), **extra}
    if merge is not None:
        claim["merge_anonymous"] = merge
    return claim


def db(server: TestServer) -> str:
    return server.settings.database_url  # type: ignore[attr-defined,no-any-return]


async def rows(database_url: str) -> dict[str, VisitorRow]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            found = (await conn.execute(select(VisitorRow))).all()
    finally:
        await engine.dispose()
    return {r.id: r for r in found}  # type: ignore[misc]


async def visitor_texts_stored(database_url: str, visitor_id: str) -> list[str]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            texts = await conn.scalars(
                select(Message.text)
                .where(Message.visitor_id == visitor_id, Message.direction == "visitor")
                .order_by(Message.id)
            )
            return [t for t in texts if t is not None]
    finally:
        await engine.dispose()


async def consent_events(database_url: str, visitor_id: str) -> list[dict[str, Any]]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            data = await conn.scalars(
                select(InteractionEvent.data).where(
                    InteractionEvent.visitor_id == visitor_id,
                    InteractionEvent.type == "consent_changed",
                )
            )
            return list(data)
    finally:
        await engine.dispose()


async def anonymous_stranger(server: TestServer) -> dict[str, Any]:
    """A stranger on the shared computer: chats, gives an e-mail and subscribes.

    The bot is absent here, so what its sign-up turn would store (profile,
    e-mail column, consent record) is written as the profile mirror writes it.
    """
    stranger = Visitor()
    confirm = await stranger.connect(base(server))
    await stranger.say(f"my email is {ANON_EMAIL}")
    await stranger.say("subscribe me to the newsletter")
    await stranger.close()
    engine = create_async_engine(db(server))
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(VisitorRow)
                .where(VisitorRow.id == stranger.visitor_id)
                .values(
                    email=ANON_EMAIL,
                    name="Mallory",
                    profile={
                        "email": ANON_EMAIL,
                        "name": "Mallory",
                        "marketing_consent": True,
                        "consent_at": CONSENT_AT,
                        "interests": ["tents"],
                    },
                )
            )
            await conn.execute(
                InteractionEvent.__table__.insert().values(  # type: ignore[attr-defined]
                    type="consent_changed",
                    visitor_id=stranger.visitor_id,
                    data={"topic": "marketing_email", "granted": True, "source": "chat:typed"},
                )
            )
    finally:
        await engine.dispose()
    return {"session_id": confirm["session_id"], "visitor_id": stranger.visitor_id}


async def known_customer(server: TestServer, user_id: str) -> str:
    """A customer who chatted before, with a verified e-mail on their row."""
    customer = Visitor()
    await customer.connect(base(server), identity=identity(user_id))
    await customer.say("where is my order?")
    await customer.close()
    engine = create_async_engine(db(server))
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(VisitorRow)
                .where(VisitorRow.id == customer.visitor_id)
                .values(email=CUSTOMER_EMAIL, name="Cara", profile={"email": CUSTOMER_EMAIL})
            )
    finally:
        await engine.dispose()
    return customer.visitor_id


async def shown_history(visitor: Visitor) -> list[str]:
    """The visitor messages the server showed after session_confirm (a round trip first)."""
    await visitor.say("are you there?")
    histories = visitor.seen("history")
    return [m["text"] for h in histories for m in h["messages"] if m["direction"] == "visitor"]


def assert_customer_untouched(row: VisitorRow) -> None:
    assert row.email == CUSTOMER_EMAIL and row.name == "Cara"
    profile = row.profile or {}
    assert profile.get("email") == CUSTOMER_EMAIL
    for field in ("marketing_consent", "consent_at", "interests", "name"):
        assert field not in profile, f"{field} was carried over"


async def assert_stranger_kept(server: TestServer, stranger: dict[str, Any]) -> None:
    row = (await rows(db(server)))[stranger["visitor_id"]]
    assert row.external_id is None, "the anonymous visitor is a separate person"
    assert row.email == ANON_EMAIL
    assert (row.profile or {}).get("marketing_consent") is True
    assert len(await consent_events(db(server), stranger["visitor_id"])) == 1


async def test_login_inherits_nothing_from_the_anonymous_session(server: TestServer) -> None:
    customer_id = await known_customer(server, "cust-shared-1")
    stranger = await anonymous_stranger(server)

    login = Visitor()
    confirm = await login.connect(
        base(server), session_id=stranger["session_id"], identity=identity("cust-shared-1")
    )
    assert confirm["session_id"].split(".")[0] == customer_id
    # The widget is shown the customer's own conversation, and only that.
    assert await shown_history(login) == ["where is my order?"]
    await login.close()

    all_rows = await rows(db(server))
    assert_customer_untouched(all_rows[customer_id])
    assert await consent_events(db(server), customer_id) == []
    assert ANON_EMAIL not in str(await visitor_texts_stored(db(server), customer_id))
    await assert_stranger_kept(server, stranger)
    assert await visitor_texts_stored(db(server), stranger["visitor_id"]) == [
        f"my email is {ANON_EMAIL}",
        "subscribe me to the newsletter",
    ]


async def test_first_login_starts_a_customer_of_their_own(server: TestServer) -> None:
    stranger = await anonymous_stranger(server)

    login = Visitor()
    confirm = await login.connect(
        base(server), session_id=stranger["session_id"], identity=identity("cust-new-1")
    )
    customer_id = confirm["session_id"].split(".")[0]
    assert customer_id != stranger["visitor_id"]
    assert await shown_history(login) == []
    await login.close()

    row = (await rows(db(server)))[customer_id]
    assert row.external_id == "cust-new-1"
    assert row.email is None and "marketing_consent" not in (row.profile or {})
    assert await consent_events(db(server), customer_id) == []
    await assert_stranger_kept(server, stranger)


async def test_signed_merge_carries_the_conversation_but_not_consent_or_email(
    server: TestServer,
) -> None:
    customer_id = await known_customer(server, "cust-merge-1")
    stranger = await anonymous_stranger(server)

    login = Visitor()
    claim = identity("cust-merge-1", merge=stranger["session_id"], email="other@shop.example")
    confirm = await login.connect(base(server), session_id=stranger["session_id"], identity=claim)
    assert "error" not in login.received
    assert confirm["session_id"].split(".")[0] == customer_id
    assert await shown_history(login) == [
        "where is my order?",
        f"my email is {ANON_EMAIL}",
        "subscribe me to the newsletter",
    ]
    await login.close()

    row = (await rows(db(server)))[customer_id]
    assert row.email != ANON_EMAIL and (row.profile or {}).get("email") != ANON_EMAIL
    assert "marketing_consent" not in (row.profile or {})
    assert "interests" not in (row.profile or {})
    assert await consent_events(db(server), customer_id) == []
    # The stranger keeps their row, profile and consent record; only the transcript moved.
    await assert_stranger_kept(server, stranger)
    assert await visitor_texts_stored(db(server), stranger["visitor_id"]) == []


async def test_a_merge_field_the_backend_did_not_sign_is_refused(server: TestServer) -> None:
    stranger = await anonymous_stranger(server)
    claim = {**identity("cust-merge-2"), "merge_anonymous": stranger["session_id"]}

    login = Visitor()
    await login.sio.connect(base(server), transports=["websocket"])
    await login.sio.emit(
        "session_request", {"session_id": stranger["session_id"], "identity": claim}
    )
    error = await login.next("error")
    assert error["code"] == "identity_rejected"
    await login.next("session_confirm")
    await login.close()
    assert len(await visitor_texts_stored(db(server), stranger["visitor_id"])) == 2
    assert all(r.external_id != "cust-merge-2" for r in (await rows(db(server))).values())


async def test_a_signed_merge_only_takes_the_session_it_names(server: TestServer) -> None:
    """The backend vouched for visitor X; the browser presents visitor Y's id."""
    vouched = await anonymous_stranger(server)
    presented = await anonymous_stranger(server)

    login = Visitor()
    claim = identity("cust-merge-3", merge=vouched["visitor_id"])
    await login.connect(base(server), session_id=presented["session_id"], identity=claim)
    assert await shown_history(login) == []
    await login.close()
    for anonymous in (vouched, presented):
        assert len(await visitor_texts_stored(db(server), anonymous["visitor_id"])) == 2


async def test_sign_out_starts_a_fresh_anonymous_session(server: TestServer) -> None:
    customer = Visitor()
    confirm = await customer.connect(base(server), identity=identity("cust-out-1"))
    await customer.say("my private order question")
    await customer.close()

    # The page stops sending the identity; the browser still holds the id.
    signed_out = Visitor()
    fresh = await signed_out.connect(base(server), session_id=confirm["session_id"])
    assert fresh["session_id"].split(".")[0] != customer.visitor_id
    assert await shown_history(signed_out) == []
    await signed_out.close()
    assert await visitor_texts_stored(db(server), customer.visitor_id) == [
        "my private order question"
    ]


async def test_customer_b_sees_nothing_of_customer_a_on_the_same_browser(
    server: TestServer,
) -> None:
    a = Visitor()
    confirm_a = await a.connect(base(server), identity=identity("cust-a", email="a@shop.example"))
    await a.say("A's secret")
    await a.close()

    b = Visitor()
    confirm_b = await b.connect(
        base(server), session_id=confirm_a["session_id"], identity=identity("cust-b")
    )
    b_id = confirm_b["session_id"].split(".")[0]
    assert b_id != a.visitor_id
    assert await shown_history(b) == []
    await b.close()
    all_rows = await rows(db(server))
    assert all_rows[b_id].external_id == "cust-b" and all_rows[b_id].email is None
    assert all_rows[a.visitor_id].email == "a@shop.example"
    assert await visitor_texts_stored(db(server), b_id) == ["are you there?"]
