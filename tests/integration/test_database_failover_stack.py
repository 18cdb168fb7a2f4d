"""A database outage under the real stack: no message unanswered, no tracker lost.

The whole stack (action server, Rasa, chat server) runs on a PostgreSQL
cluster this test owns. Rasa reaches it through a TCP relay, so the test can
first take the database away from Rasa alone — the visitor's message is then
stored by the chat server but its bot turn cannot be saved, the case seen in
production — and then stop the cluster altogether (``pg_ctl stop -m fast``)
and start it again. The visitor is a Rasa-style client (rasa-webchat): no
acks, no resending; the answer must come by itself after recovery.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from dev.devstack import Stack
from tests.conftest import LIVE_STACK_ENV, stack_config
from tests.support import pg_cluster
from tests.support.tcp_proxy import TcpProxy
from tests.support.visitor import Visitor

pytestmark = [
    pytest.mark.stack,
    pytest.mark.postgres,
    pytest.mark.skipif(not pg_cluster.available(), reason="PostgreSQL 15 server binaries"),
]


class FailoverStack:
    def __init__(self, stack: Stack, cluster: pg_cluster.PgCluster, proxy: TcpProxy) -> None:
        self.stack, self.cluster, self.proxy = stack, cluster, proxy

    def log(self, name: str) -> str:
        return self.stack.log_path(name).read_text(errors="replace")


@pytest.fixture
async def failover(tmp_path: Path) -> AsyncIterator[FailoverStack]:
    async with pg_cluster.PgCluster() as cluster:
        proxy = TcpProxy("127.0.0.1", cluster.port)
        await proxy.start()
        config = stack_config(
            tmp_path,
            cluster.url(),
            extra_env={
                **LIVE_STACK_ENV,
                # Rasa's tracker store goes through the relay; the chat server does not.
                "TRACKER_STORE_URL": f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres",
                "UNANSWERED_SWEEP_SECONDS": "1",
            },
        )
        stack = Stack(config)
        try:
            # Blocking start in a thread: the relay lives on this event loop.
            await asyncio.to_thread(stack.start)
            yield FailoverStack(stack, cluster, proxy)
        finally:
            await asyncio.to_thread(stack.stop)
            await proxy.close()


async def events_of(cluster: pg_cluster.PgCluster, sender: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(cluster.url().replace("+asyncpg", ""))
    try:
        rows = await conn.fetch(
            "SELECT type_name, data FROM events WHERE sender_id = $1 ORDER BY id", sender
        )
    finally:
        await conn.close()
    return [{"type": r["type_name"], **json.loads(r["data"])} for r in rows]


async def test_outage_mid_conversation_every_stored_message_answered_in_one_session(
    failover: FailoverStack,
) -> None:
    visitor = Visitor()  # rasa-webchat-like: no acks, never resends
    try:
        await visitor.connect(failover.stack.base_url)
        assert await visitor.say("hi")
        assert await visitor.say("my name is Priya")

        # 1. Rasa loses its database; the chat server still stores the message.
        await failover.proxy.cut()
        mark = len(visitor.log)
        await visitor.sio.emit(
            "user_uttered",
            {"message": "I'm looking for a tent", "session_id": visitor.session_id},
        )
        refused = await visitor.wait_for("error", after=mark)
        assert refused["code"] == "unavailable", refused  # main: answered from a blank tracker

        # 2. The whole database stops (fast shutdown), then starts again.
        await failover.cluster.stop("fast")
        await asyncio.sleep(3)
        await failover.cluster.start()
        await failover.proxy.restore()

        # 3. The stored message is answered by itself, once.
        answer = await visitor.wait_for("bot_uttered", after=mark, timeout=60)
        assert answer.get("text") or answer.get("attachment"), answer
        assert "internal_error" not in str(visitor.log)
        assert await visitor.say("thanks")
    finally:
        await visitor.close()

    events = await events_of(failover.cluster, visitor.visitor_id)
    said = [e.get("text") for e in events if e["type"] == "user"]
    assert said == ["hi", "my name is Priya", "I'm looking for a tent", "thanks"], said
    assert sum(e["type"] == "session_started" for e in events) == 1, "one session throughout"
    slots = [e for e in events if e["type"] == "slot" and e.get("name") == "name"]
    assert slots and slots[-1].get("value") == "Priya"

    chat_log, rasa_log = failover.log("chat"), failover.log("rasa")
    assert chat_log.count("database unavailable (") == 1, chat_log[-3000:]
    assert chat_log.count("database available again") == 1, chat_log[-3000:]
    # Rasa's side of it, as the chat server saw it (HTTP 503 from Rasa).
    assert chat_log.count("the bot's tracker store unavailable (") == 1, chat_log[-3000:]
    assert chat_log.count("the bot's tracker store available again") == 1, chat_log[-3000:]
    assert "Traceback" not in chat_log, chat_log[-3000:]
    assert rasa_log.count("tracker store unavailable:") == 1, rasa_log[-3000:]
    assert rasa_log.count("tracker store available again") == 1, rasa_log[-3000:]
    assert "Traceback" not in rasa_log, rasa_log[-3000:]
