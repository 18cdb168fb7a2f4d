"""Delivery guarantees: client message ids, acks, retries, resume, restarts.

In-process chat server on real SQLite and PostgreSQL; Rasa is absent, so every
bot turn ends in the stored "assistant unavailable" reply — a real reply path
that is enough to count answers.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.models import Message
from dev.devstack import free_port
from tests.integration.conftest import ADMIN_TOKEN, base, start_server
from tests.integration.helpers import stored_messages
from tests.support.agents import AgentClient, create_agent
from tests.support.visitor import Visitor


def cid() -> str:
    return uuid.uuid4().hex


async def assigned_conversation(agent: AgentClient, visitor_id: str) -> int:
    for _ in range(50):
        mine = await agent.ok("GET", "/api/conversations?view=mine")
        for conversation in mine["conversations"]:
            if conversation["visitor_id"] == visitor_id:
                return int(conversation["id"])
        await asyncio.sleep(0.2)
    raise AssertionError("the conversation was never assigned")


async def test_a_retried_message_is_stored_and_answered_once(server: TestServer) -> None:
    visitor = Visitor(rapport=True)
    await visitor.connect(base(server))
    try:
        payload = {
            "message": "where is my order?",
            "session_id": visitor.session_id,
            "client_id": cid(),
        }
        first = await visitor.sio.call("user_uttered", payload, timeout=10)
        again = await visitor.sio.call("user_uttered", payload, timeout=10)
        assert first["ok"] and first["duplicate"] is False
        assert again == {**first, "duplicate": True}
        await asyncio.sleep(0.5)
        rows = await stored_messages(server.settings.database_url, visitor.visitor_id)  # type: ignore[attr-defined]
        assert [r.direction for r in rows] == ["visitor", "bot"]
        assert rows[0].id == first["message_id"]
        assert len(visitor.seen("bot_uttered")) == 1
    finally:
        await visitor.close()


async def test_the_ack_refuses_what_was_not_stored(server: TestServer) -> None:
    visitor = Visitor(rapport=True)
    await visitor.connect(base(server))
    try:
        ack = await visitor.sio.call(
            "user_uttered", {"message": "   ", "session_id": visitor.session_id}, timeout=10
        )
        assert ack["ok"] is False and ack["code"] == "empty_message"
        bad_id = await visitor.sio.call(
            "user_uttered",
            {"message": "hi", "session_id": visitor.session_id, "client_id": "x"},
            timeout=10,
        )
        assert bad_id["ok"] is False and bad_id["code"] == "invalid_payload"
        assert await stored_messages(server.settings.database_url, visitor.visitor_id) == []  # type: ignore[attr-defined]
    finally:
        await visitor.close()


async def test_a_message_whose_turn_never_ran_is_answered_on_retry(server: TestServer) -> None:
    database_url = server.settings.database_url  # type: ignore[attr-defined]
    visitor = Visitor(rapport=True)
    await visitor.connect(base(server))
    try:
        client_id = cid()
        payload = {"message": "hello?", "session_id": visitor.session_id, "client_id": client_id}
        ack = await visitor.sio.call("user_uttered", payload, timeout=10)
        # As if the server had stopped between storing it and the bot's turn.
        engine = create_async_engine(database_url)
        async with engine.begin() as conn:
            await conn.execute(
                update(Message).where(Message.id == ack["message_id"]).values(handled=False)
            )
            await conn.execute(
                Message.__table__.delete().where(Message.direction == "bot")  # type: ignore[attr-defined]
            )
        await engine.dispose()
        retry = await visitor.sio.call("user_uttered", payload, timeout=10)
        assert retry["duplicate"] is True and retry["message_id"] == ack["message_id"]
        rows = await stored_messages(database_url, visitor.visitor_id)
        assert [r.direction for r in rows] == ["visitor", "bot"]
        assert rows[0].handled
        # Once answered, a further retry is only acknowledged.
        await visitor.sio.call("user_uttered", payload, timeout=10)
        assert len(await stored_messages(database_url, visitor.visitor_id)) == 2
    finally:
        await visitor.close()


async def test_a_reconnecting_client_gets_only_what_it_missed(server: TestServer) -> None:
    url = base(server)
    first = Visitor(rapport=True)
    await first.connect(url)
    await first.send_reliably("one", cid())
    await first.wait_for("bot_uttered")
    seen = first.last_message_id
    await first.close()

    # Another tab of the same visitor talks on while the first is away.
    other = Visitor(rapport=True)
    await other.connect(url, session_id=first.session_id)
    await other.send_reliably("two", cid())
    await other.wait_for("bot_uttered")
    await other.close()

    back = Visitor(rapport=True)
    await back.sio.connect(url, transports=["websocket"])
    await back.sio.emit(
        "session_request",
        {"session_id": first.session_id, "rapport": 1, "last_message_id": seen},
    )
    history = await back.next("history")
    assert history["after"] == seen
    assert [(m["direction"], m["text"]) for m in history["messages"]][:1] == [("visitor", "two")]
    assert [m["direction"] for m in history["messages"]] == ["visitor", "bot"]
    assert all(m["id"] > seen for m in history["messages"])
    assert history["messages"][0]["client_id"]
    await back.close()


async def test_a_console_retry_is_stored_and_relayed_once(server: TestServer) -> None:
    url = base(server)
    async with aiohttp.ClientSession() as http:
        data = await create_agent(http, url, ADMIN_TOKEN, name="Ada")
    agent = await AgentClient(url, data["username"]).login()
    await agent.set_status("online")
    visitor = Visitor(rapport=True)
    await visitor.connect(url)
    try:
        await visitor.say("hello")  # Rasa is down: handed to the online agent
        conversation = await assigned_conversation(agent, visitor.visitor_id)
        body = {"text": "Hi, Ada here.", "client_id": cid()}
        path = f"/api/conversations/{conversation}/messages"
        first = await agent.ok("POST", path, body)
        again = await agent.ok("POST", path, body)
        assert first["message"]["id"] == again["message"]["id"]
        await asyncio.sleep(0.5)
        rows = await stored_messages(server.settings.database_url, visitor.visitor_id)  # type: ignore[attr-defined]
        assert [r.text for r in rows if r.direction == "agent"] == ["Hi, Ada here."]
        assert [m.get("text") for m in visitor.seen("bot_uttered")].count("Hi, Ada here.") == 1
        after = await agent.ok("GET", f"{path}?after_id={first['message']['id'] - 1}")
        assert [m["id"] for m in after["messages"]] == [first["message"]["id"]]
    finally:
        await visitor.close()
        await agent.close()


async def test_messages_sent_across_a_restart_arrive_once_and_in_order(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    port = free_port()
    srv = await start_server(database_url, port=port)
    visitor = Visitor(rapport=True, reconnect=True)
    await visitor.connect(base(srv))
    texts = [f"message {i}" for i in range(12)]
    acks: list[dict[str, Any]] = []

    async def sender() -> None:
        for text in texts:
            acks.append(await visitor.send_reliably(text, f"restart-{text.replace(' ', '-')}"))
            await asyncio.sleep(0.1)

    async def restarter() -> None:
        nonlocal srv
        await asyncio.sleep(0.5)
        await srv.close()  # the chat server goes away mid-conversation ...
        await asyncio.sleep(1.0)
        srv = await start_server(database_url, port=port)  # ... and comes back

    try:
        await asyncio.gather(sender(), restarter())
        await asyncio.sleep(1.5)
        rows = await stored_messages(database_url, visitor.visitor_id)
        said = [r for r in rows if r.direction == "visitor"]
        assert [r.text for r in said] == texts  # each once, in order
        assert [a["message_id"] for a in acks] == [r.id for r in said]
        answers = [r for r in rows if r.direction == "bot"]
        assert len(answers) == len(texts)  # each answered exactly once
        delivered = [m["message_id"] for m in visitor.seen("bot_uttered")]
        for item in visitor.seen("history"):
            delivered += [m["id"] for m in item["messages"] if m["direction"] == "bot"]
        assert sorted(set(delivered)) == [r.id for r in answers]
    finally:
        await visitor.close()
        await srv.close()
