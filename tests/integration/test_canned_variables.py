"""Canned-response variables on an in-process chat server (SQLite and PostgreSQL).

Saving a canned response with an unknown or malformed variable is refused; an
agent sending one gets the visitor's name (or the fallback) filled in, and the
visitor never sees ``{{...}}``. Rasa is absent, so the visitor is handed to the
online agent at once.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.models import Visitor as VisitorRow
from tests.integration.conftest import base, new_agent
from tests.support.visitor import Visitor


async def name_visitor(database_url: str, visitor_id: str, name: str | None) -> None:
    """What the pre-chat form or the bot's ``name`` slot stores."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(VisitorRow).where(VisitorRow.id == visitor_id).values(name=name)
            )
    finally:
        await engine.dispose()


async def test_unknown_or_malformed_variables_are_refused_when_saved(server: TestServer) -> None:
    agent = await new_agent(server, "Alex")
    try:
        for text in ("Hi {{contact.nmae}}", "Hi {{contact.name", "Hi {{}}"):
            status, body = await agent.call(
                "POST", "/api/canned-responses", {"shortcut": "hi", "text": text}
            )
            assert status == 400, (text, status, body)
            assert body["error"] == "invalid"
            assert "variable" in body["message"] or "braces" in body["message"]
        listed = (await agent.ok("GET", "/api/canned-responses"))["canned_responses"]
        assert listed == []
    finally:
        await agent.close()


async def test_a_sent_canned_response_reaches_the_visitor_rendered(server: TestServer) -> None:
    agent = await new_agent(server, "Alex")
    await agent.connect()
    visitor = Visitor(rapport=True)
    await visitor.connect(base(server))
    database_url = server.settings.database_url  # type: ignore[attr-defined]
    try:
        saved = await agent.ok(
            "POST",
            "/api/canned-responses",
            {"shortcut": "hi", "text": "Hi {{contact.name|there}}, {{agent.name}} here."},
        )
        await visitor.say("hello, anyone there?")
        assignment = await agent.wait_for("assignment")
        cid = assignment["conversation"]["id"]

        def from_agent(m: dict[str, Any]) -> bool:
            return bool(m.get("sender", {}).get("type") == "agent")

        # No name known yet: the fallback.
        listed = await agent.ok("GET", f"/api/canned-responses?conversation_id={cid}")
        item = listed["canned_responses"][0]
        assert item["text"] == saved["canned_response"]["text"]
        assert item["rendered"] == "Hi there, Alex here."
        await agent.ok("POST", f"/api/conversations/{cid}/messages", {"text": item["text"]})
        reply = await visitor.wait_for("bot_uttered", from_agent)
        assert reply["text"] == "Hi there, Alex here."

        # Once the visitor's name is known, it is filled in.
        await name_visitor(database_url, visitor.visitor_id, "Dana")
        listed = await agent.ok("GET", f"/api/canned-responses?conversation_id={cid}")
        assert listed["canned_responses"][0]["rendered"] == "Hi Dana, Alex here."
        before = len(visitor.seen("bot_uttered"))
        await agent.ok("POST", f"/api/conversations/{cid}/messages", {"text": item["text"]})
        await visitor.wait_for(
            "bot_uttered", lambda m: from_agent(m) and len(visitor.seen("bot_uttered")) > before
        )
        texts = [m["text"] for m in visitor.seen("bot_uttered") if from_agent(m)]
        assert texts == ["Hi there, Alex here.", "Hi Dana, Alex here."]
        assert not any("{{" in t or "}}" in t for t in texts)
        transcript = (await agent.ok("GET", f"/api/conversations/{cid}/messages"))["messages"]
        assert [m["text"] for m in transcript if m["direction"] == "agent"] == texts
    finally:
        await agent.set_status("offline")
        await agent.close()
        await visitor.close()
