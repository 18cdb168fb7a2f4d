"""Scale-out on real parts: two chat-server nodes and two Rasa processes sharing
PostgreSQL and Redis (a redis-server the tests own, so they can restart it;
the ``cluster`` fixture in tests/conftest.py).

Node A is ``chat``, node B is ``chat2``; Rasa processes are ``rasa`` and
``rasa2`` (the chat servers spread turns over both; Rasa's Redis lock store
keeps one conversation's turns in order).
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from chat_server.transport.cluster import NODE_TTL_SECONDS
from dev.devstack import Stack, free_port
from tests.support.agents import AgentClient
from tests.support.cluster import agent_on_node_b, hand_over, node_a, node_b, say_quietly
from tests.support.rasa_sessions import rasa_tracker
from tests.support.redis_server import RedisServer
from tests.support.visitor import Visitor

pytestmark = [pytest.mark.stack, pytest.mark.postgres]


@pytest.fixture
async def agent(cluster: Stack) -> AsyncIterator[AgentClient]:
    async with agent_on_node_b(cluster) as client:
        yield client


async def agent_says(agent: AgentClient, cid: int, text: str) -> int:
    sent = await agent.emit("send_message", {"conversation_id": cid, "text": text})
    assert sent["ok"], sent
    return int(sent["message"]["id"])


def delivered_ids(visitor: Visitor, after: int = 0) -> list[int]:
    """Ids of the messages the visitor received live or in a catch-up history."""
    ids: list[int] = []
    for event, data in visitor.log[after:]:
        if event == "bot_uttered" and isinstance(data.get("message_id"), int):
            ids.append(data["message_id"])
        elif event == "history":
            ids.extend(m["id"] for m in data.get("messages") or [] if isinstance(m.get("id"), int))
    return ids


def texts_received(visitor: Visitor, after: int = 0) -> list[str]:
    found: list[str] = []
    for event, data in visitor.log[after:]:
        if event == "bot_uttered":
            found.append(data.get("text") or "")
        elif event == "history":
            found.extend(m.get("text") or "" for m in data.get("messages") or [])
    return found


async def wait_received(visitor: Visitor, text: str, after: int = 0, timeout: float = 30) -> None:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while text not in texts_received(visitor, after):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{text!r} never reached the visitor")
        await asyncio.sleep(0.05)


async def transcript(agent: AgentClient, cid: int) -> list[dict[str, Any]]:
    body = await agent.ok("GET", f"/api/conversations/{cid}/messages")
    return list(body["messages"])


async def test_visitor_on_node_a_and_agent_on_node_b_talk_live(
    cluster: Stack, agent: AgentClient
) -> None:
    visitor = Visitor(rapport=True)
    await visitor.connect(node_a(cluster))
    try:
        # The console on node B lists the visitor on node A among live visitors.
        mark = len(agent.log)
        deadline = asyncio.get_running_loop().time() + 10
        while visitor.visitor_id not in [
            v["visitor_id"] for v in (await agent.ok("GET", "/api/visitors/live"))["visitors"]
        ]:
            assert asyncio.get_running_loop().time() < deadline, "not in B's live visitors"
            await asyncio.sleep(0.2)
        await agent.wait_for("live_visitors_changed", after=mark)

        cid = await hand_over(visitor, agent)
        await agent_says(agent, cid, "Hello from node B")
        await wait_received(visitor, "Hello from node B")
        await say_quietly(visitor, "thanks, this is node A speaking")
        await agent.wait_for(
            "message_created", lambda m: m["message"]["text"] == "thanks, this is node A speaking"
        )
        mark = len(visitor.log)
        await agent.ok("POST", f"/api/conversations/{cid}/resolve")
        await visitor.wait_for("csat_request", after=mark)
        # The bot answers again once the person is done.
        replies = await visitor.say("how much is shipping?")
        assert any("shipping" in (r.get("text") or "").lower() for r in replies)
        assert all(r["sender"] == {"type": "bot"} for r in replies)
        # Every message the agent sent reached the visitor once.
        ids = delivered_ids(visitor)
        assert len(ids) == len(set(ids))
    finally:
        await visitor.close()


async def test_a_console_that_has_just_connected_to_node_b_gets_the_handoff(
    cluster: Stack,
) -> None:
    """Node A hears of a console on node B a second or two late (cluster
    presence): a handoff in that window must still reach the console live."""
    visitor = Visitor(rapport=True)
    await visitor.connect(node_a(cluster))
    try:
        await visitor.say("hi")
        async with agent_on_node_b(cluster, "Nia") as agent:
            await say_quietly(visitor, "I want to talk to a human")
            assignment = await agent.wait_for(
                "assignment", lambda a: a["conversation"]["visitor_id"] == visitor.visitor_id
            )
            assert assignment["conversation"]["state"] == "assigned"
    finally:
        await visitor.close()


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stopped"])
async def test_a_node_dies_or_stops_and_the_visitor_resumes_on_the_other_without_loss(
    cluster: Stack, agent: AgentClient, stop: signal.Signals
) -> None:
    """Killed (no goodbye) or stopped gracefully (a deploy: SIGTERM closes
    every socket, then the process exits), the visitor's client reconnects
    to node B and misses nothing."""
    visitor = Visitor(rapport=True, reconnect=True)
    await visitor.connect(node_a(cluster))
    try:
        cid = await hand_over(visitor, agent)
        await agent_says(agent, cid, "before the crash")
        await wait_received(visitor, "before the crash")
        mark = len(visitor.log)

        # Node A dies without a goodbye, or is stopped; the visitor's client
        # reconnects to node B (what the proxy does when A is gone).
        visitor.base_url = node_b(cluster)
        proc = cluster.procs["chat"]
        os.killpg(proc.pid, stop)
        await asyncio.to_thread(proc.wait, 60)
        if stop == signal.SIGTERM:
            assert proc.returncode == 0, proc.returncode  # a clean exit, not a crash
        cluster.stop_process("chat")  # closes its log
        # Said while the visitor had no connection at all.
        missed = ["while you were away (1)", "while you were away (2)"]
        for text in missed:
            await agent_says(agent, cid, text)
        for text in missed:
            await wait_received(visitor, text, after=mark)

        # A message sent at the moment of the crash is retried with its client id.
        client_id = f"c-{uuid.uuid4().hex}"
        first = await visitor.send_reliably("I am back", client_id)
        again = await visitor.send_reliably("I am back", client_id)
        assert first["ok"] and again["ok"] and again["duplicate"] is True
        assert again["message_id"] == first["message_id"]
        await agent.wait_for("message_created", lambda m: m["message"]["text"] == "I am back")
        await agent_says(agent, cid, "welcome back")
        await wait_received(visitor, "welcome back", after=mark)

        # Stored once each, in order; delivered once each.
        stored = [m["text"] for m in await transcript(agent, cid)]
        expected = ["before the crash", *missed, "I am back", "welcome back"]
        assert [t for t in stored if t in expected] == expected
        ids = delivered_ids(visitor)
        assert len(ids) == len(set(ids)), "a message reached the visitor twice"
        received = texts_received(visitor)
        for text in ["before the crash", *missed, "welcome back"]:
            assert received.count(text) == 1, text
    finally:
        await visitor.close()
        if "chat" not in cluster.procs:  # node A back for the next tests
            cluster.start_chat("chat", cluster.config.chat_port)
            await asyncio.to_thread(cluster.wait_healthy, 120, node_a(cluster))


async def test_redis_restarts_mid_conversation_and_clients_catch_up(
    cluster: Stack, agent: AgentClient, cluster_redis: RedisServer
) -> None:
    visitor = Visitor(rapport=True, reconnect=True)
    shopper = Visitor(rapport=True)
    await visitor.connect(node_a(cluster))
    await shopper.connect(node_a(cluster))
    try:
        cid = await hand_over(visitor, agent)
        await agent_says(agent, cid, "before the outage")
        await wait_received(visitor, "before the outage")
        mark, agent_mark = len(visitor.log), len(agent.log)

        cluster_redis.stop()
        # Still stored and answered while Redis is down.
        during = "said during the outage"
        await agent_says(agent, cid, during)
        ack = await visitor.send_reliably("visitor during the outage", f"c-{uuid.uuid4().hex}")
        assert ack["ok"]
        replies = await shopper.say("how much is shipping?")
        assert any("shipping" in (r.get("text") or "").lower() for r in replies)

        cluster_redis.start()
        # The nodes resubscribe and tell their clients to catch up: the
        # visitor gets what it missed without reconnecting or reloading.
        await visitor.wait_for("resync", after=mark, timeout=30)
        await wait_received(visitor, during, after=mark)
        await agent.wait_for("resync", after=agent_mark, timeout=30)
        # The console reloads the transcript on resync; the message is there.
        stored = [m["text"] for m in await transcript(agent, cid)]
        assert "visitor during the outage" in stored

        # Live fan-out works again, both ways.
        await agent_says(agent, cid, "after the outage")
        await wait_received(visitor, "after the outage", after=mark)
        await say_quietly(visitor, "visitor after the outage")
        await agent.wait_for(
            "message_created", lambda m: m["message"]["text"] == "visitor after the outage"
        )
        ids = delivered_ids(visitor)
        assert len(ids) == len(set(ids)), "a message reached the visitor twice"
        received = texts_received(visitor)
        for text in ("before the outage", during, "after the outage"):
            assert received.count(text) == 1, text
    finally:
        await visitor.close()
        await shopper.close()


async def test_after_a_redis_outage_node_b_tells_its_consoles_who_is_online_on_node_a(
    cluster: Stack, agent: AgentClient, cluster_redis: RedisServer
) -> None:
    """The visitor's `visitor_presence` events went out through Redis, so an
    outage long enough for node B to drop node A from its view shows the
    visitor offline on node B; once B hears of A again, its consoles are told
    the visitor is online without anyone reconnecting."""
    visitor = Visitor(rapport=True)
    await visitor.connect(node_a(cluster))
    try:
        cid = await hand_over(visitor, agent)

        async def online() -> bool:
            return bool((await agent.ok("GET", f"/api/conversations/{cid}"))["visitor"]["online"])

        for _ in range(100):  # node B reads node A's rooms each second
            if await online():
                break
            await asyncio.sleep(0.1)
        assert await online()

        cluster_redis.stop()
        await asyncio.sleep(NODE_TTL_SECONDS + 1.5)  # node B no longer counts node A
        assert not await online()
        mark = len(agent.log)
        cluster_redis.start()

        told = await agent.wait_for(
            "visitors_presence", lambda d: visitor.visitor_id in d["online"], after=mark, timeout=30
        )
        assert visitor.visitor_id not in told["offline"]
        assert await online()
    finally:
        await visitor.close()


def user_turns(tracker: dict[str, Any]) -> list[str]:
    return [e["text"] for e in tracker["events"] if e["event"] == "user"]


async def rasa_requests(base_url: str) -> dict[str, float]:
    """rapport_rasa_requests_total{outcome="answered"} of one node, by Rasa server."""
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/metrics") as resp:
        text = await resp.text()
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("rapport_rasa_requests_total{") and 'outcome="answered"' in line:
            server = line.split('server="', 1)[1].split('"', 1)[0]
            counts[server] = float(line.rsplit(" ", 1)[1])
    return counts


async def test_two_rasa_processes_share_a_conversation_in_order(cluster: Stack) -> None:
    # Through the chat server: turns alternate between the two Rasa processes.
    before = await rasa_requests(node_a(cluster))
    visitor = Visitor(rapport=True)
    await visitor.connect(node_a(cluster))
    try:
        sent = [
            "hello",
            "how much is shipping?",
            "what is your return policy?",
            "do you sell shoes?",
            "thanks",
            "bye",
        ]
        for text in sent:  # without waiting: the chat server keeps them in order
            await say_quietly(visitor, text)
        tracker: dict[str, Any] = {}
        deadline = asyncio.get_running_loop().time() + 60
        while asyncio.get_running_loop().time() < deadline:
            tracker = await rasa_tracker(cluster, visitor.visitor_id)
            if len(user_turns(tracker)) >= len(sent):
                break
            await asyncio.sleep(0.2)
        assert user_turns(tracker)[-len(sent) :] == sent
    finally:
        await visitor.close()
    after = await rasa_requests(node_a(cluster))
    spread = {url: after.get(url, 0) - before.get(url, 0) for url in cluster.config.rasa_urls}
    assert all(n >= 2 for n in spread.values()), spread

    # Straight at both processes at once, overlapping: Rasa's Redis lock store
    # makes them take the turns one at a time, and no tracker save overwrites
    # another's. (Which of two requests sent 30 ms apart to two different
    # processes is first depends on which process picks its request up first;
    # the order a visitor typed is kept by the chat server, checked above.)
    sender = f"lock-{uuid.uuid4().hex}"
    texts = [f"hello number {i}" for i in range(8)]

    async def send(i: int, http: aiohttp.ClientSession) -> None:
        await asyncio.sleep(0.03 * i)
        url = cluster.config.rasa_urls[i % 2] + "/webhooks/rapport/webhook"
        async with http.post(url, json={"sender": sender, "message": texts[i]}) as resp:
            assert resp.status == 200

    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(send(i, http) for i in range(len(texts))))
    tracker = await rasa_tracker(cluster, sender, cluster.config.rasa_urls[1])
    assert sorted(user_turns(tracker)) == sorted(texts)
    story = "\n".join(
        f"{e.get('timestamp')} {e['event']} {e.get('name') or e.get('text') or ''}"
        for e in tracker["events"]
    )
    # Each turn is complete before the next begins: every message is answered
    # (the rapport channel never leaves one unanswered) before the next one...
    kinds = [e["event"] for e in tracker["events"] if e["event"] in ("user", "bot")]
    for i, kind in enumerate(kinds):
        if kind == "user":
            assert i + 1 < len(kinds) and kinds[i + 1] == "bot", story
    # ...and no turn started before the one stored ahead of it had ended (two
    # turns run at once would each start from the same tracker, and the one
    # saved second would hold events older than the first one's last).
    stamps = [e["timestamp"] for e in tracker["events"]]
    assert stamps == sorted(stamps), story


async def test_a_new_node_joins_the_cluster_before_its_first_client(cluster: Stack) -> None:
    """A node added to a running cluster subscribes to Redis at start-up, not at
    its first connection: it reports itself linked, and sees the other nodes."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cluster.start_chat("chat9", port)
    try:
        await asyncio.to_thread(cluster.wait_healthy, 120, url)
        deadline = asyncio.get_running_loop().time() + 15
        async with aiohttp.ClientSession() as http:
            while True:
                async with http.get(url + "/healthz/details") as resp:
                    details = await resp.json()
                redis = details["redis"]
                if redis["subscribed"] and redis["other_nodes"] >= 2:
                    break
                assert asyncio.get_running_loop().time() < deadline, details
                await asyncio.sleep(0.2)
        assert details["degraded"] is False
    finally:
        cluster.stop_process("chat9")
