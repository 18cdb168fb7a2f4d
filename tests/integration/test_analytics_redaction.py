"""Personal data in analytics: REDACT_PII_IN_ANALYTICS masks it in the stored
interaction events (real SQLite); whatever the log holds, a marketer reading
the dashboard, its tables and CSV exports from a real in-process server
(SQLite and PostgreSQL) sees none of it (docs/analytics.md, "Personal data")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from chat_server.db import event_queries
from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.migrate import upgrade_to_head
from chat_server.db.models import InteractionEvent, Visitor
from chat_server.services.analytics import TABLES
from chat_server.services.tracking import page_fields
from tests.integration.conftest import ADMIN_TOKEN, base
from tests.support.agents import AgentClient, create_agent


@pytest.fixture
def restore_setting() -> Iterator[None]:
    yield
    event_queries.redact_events(False)


@pytest.mark.parametrize("enabled", [True, False])
async def test_event_data_is_redacted_when_enabled(
    tmp_path: Path, enabled: bool, restore_setting: None
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        await upgrade_to_head(engine)
        event_queries.redact_events(enabled)
        data = {"text": "mail jane@example.com re TR-10023", "replies": ["+49 30 1234567"]}
        async with create_sessionmaker(engine).begin() as session:
            await event_queries.log_event(session, "consent_changed", None, data=data)
        async with create_sessionmaker(engine)() as session:
            stored = (await session.scalars(select(InteractionEvent.data))).one()
    finally:
        await engine.dispose()
    if enabled:
        assert stored == {"text": "mail [email] re TR-10023", "replies": ["[phone]"]}
    else:
        assert stored == data


# What visitors typed into the chat and into URLs: an email, a phone number
# and a (Luhn-valid test) card number. None may reach a marketer's analytics.
EMAIL, PHONE, CARD = "jane.doe@example.com", "+49 30 1234567", "4111 1111 1111 1111"
PII = (EMAIL, "example.com", PHONE, "1234567", CARD, "4111")
VISITOR = "visitor-jane-0001"


async def seed_personal_data(database_url: str) -> None:
    """The event log as the server writes it for a visitor who types PII
    (REDACT_PII_IN_ANALYTICS off, the default: the log keeps it)."""
    url = f"http://127.0.0.1/account/{EMAIL}?utm_source={EMAIL}&utm_campaign={PHONE}"
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            session.add(Visitor(id=VISITOR, profile={"email": EMAIL, "name": "Jane Doe"}))
            await session.flush()
            for text in (
                f"my email is {EMAIL}",
                f"My email is {EMAIL.upper()}",
                f"call me on {PHONE}",
                f"card {CARD} declined",
            ):
                await event_queries.log_event(session, "bot_fallback", VISITOR, data={"text": text})
            await event_queries.log_event(session, "page_view", VISITOR, data=page_fields(url))
            await event_queries.log_event(
                session,
                "page_left",
                VISITOR,
                data={"url": url, "path": page_fields(url)["path"], "seconds": 12.0},
            )
            await event_queries.log_event(
                session, "message_received", VISITOR, data={"text": EMAIL}
            )
    finally:
        await engine.dispose()


async def test_a_marketer_reads_no_personal_data_in_any_analytics(
    server: TestServer, database_url: str
) -> None:
    await seed_personal_data(database_url)
    async with aiohttp.ClientSession() as http:
        data = await create_agent(http, base(server), ADMIN_TOKEN, name="Mark", role="marketer")
    marketer = await AgentClient(base(server), data["username"]).login()
    try:
        bodies: dict[str, str] = {}
        for path in [
            "/api/analytics/summary",
            *(f"/api/analytics/tables/{name}" for name in TABLES),
            *(f"/api/analytics/tables/{name}.csv" for name in TABLES),
        ]:
            async with marketer.http.get(base(server) + path) as resp:
                assert resp.status == 200, (path, await resp.text())
                bodies[path] = await resp.text()
        unrecognised = json.loads(bodies["/api/analytics/tables/unrecognised"])["rows"]
        pages = json.loads(bodies["/api/analytics/tables/pages"])["rows"]
        sources = json.loads(bodies["/api/analytics/tables/utm_sources"])["rows"]
    finally:
        await marketer.close()
    for path, body in bodies.items():
        for secret in (*PII, VISITOR, "Jane Doe"):
            assert secret.lower() not in body.lower(), (path, secret, body)
    # Not vacuous: the rows are there, masked; two texts differing only by
    # the address (and case) are one row.
    assert unrecognised == [
        ["my email is [email]", 2],
        ["call me on [phone]", 1],
        ["card [card] declined", 1],
    ]
    assert [row[:3] for row in pages] == [["/account/[email]", 1, 1]]
    assert [row[:2] for row in sources] == [["[email]", 1]]
