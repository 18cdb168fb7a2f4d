"""Consent given while anonymous is never carried to a customer who logs in on
the same browser (issue 21: a stranger's newsletter sign-up must not become the
customer's), not even when the site's backend signs ``merge_anonymous``.

In-process chat server on real SQLite and PostgreSQL, Rasa absent: the
anonymous visitor's consent is written to their profile directly, as the
profile mirror would after the bot's sign-up turn.
"""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.models import InteractionEvent
from chat_server.db.models import Visitor as VisitorRow
from chat_server.http.keys import SERVICES
from tests.integration.conftest import base
from tests.integration.test_identity_transitions import identity
from tests.support.visitor import Visitor

CONSENT_AT = "2026-01-02T03:04:05+00:00"


async def test_anonymous_consent_is_not_carried_over_at_login(server: TestServer) -> None:
    url = base(server)
    database_url = server.settings.database_url  # type: ignore[attr-defined]
    customer = Visitor()
    await customer.connect(url, identity=identity("cust-consent"))
    await customer.close()

    phone = Visitor()
    anon = await phone.connect(url)
    await phone.say("sign me up")
    await phone.close()
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(VisitorRow)
                .where(VisitorRow.id == phone.visitor_id)
                .values(profile={"marketing_consent": True, "consent_at": CONSENT_AT})
            )

        logged_in = Visitor()
        claim = identity("cust-consent", merge=anon["session_id"])
        await logged_in.connect(url, session_id=anon["session_id"], identity=claim)
        await logged_in.say("hello")  # a conversation for the console to open
        await logged_in.close()

        async with engine.connect() as conn:
            events = list(
                await conn.scalars(
                    select(InteractionEvent.data).where(
                        InteractionEvent.visitor_id == customer.visitor_id,
                        InteractionEvent.type == "consent_changed",
                    )
                )
            )
            profile = await conn.scalar(
                select(VisitorRow.profile).where(VisitorRow.id == customer.visitor_id)
            )
    finally:
        await engine.dispose()
    assert events == []
    assert "marketing_consent" not in (profile or {})
    # The console's visitor panel shows the customer without the stranger's consent.
    desk = server.app[SERVICES].desk
    conversations = await desk.visitor_conversations(customer.visitor_id)
    detail = await desk.detail(conversations["conversations"][0]["id"])
    assert detail["visitor"]["consents"] == []
