"""Nothing missing, nothing twice, nothing out of order — on two real nodes under load.

Visitors on node A and an agent's console on node B keep writing while the
test stops the cluster's redis-server for six seconds, starts it again, and
later kills node A (the visitors reconnect to node B). No client reloads.
Then what each client holds is compared with what is stored:

- a visitor client behaves as the widget does (tests/support/visitor.py): it
  resumes from its position and asks for a gap when a message skips ahead.
  Every bot and agent message it *received* counts, in arrival order, as
  rasa-webchat (no ids) would show them: missing, received twice, or
  received after a later one;
- a console client behaves as the console does (console/src/actions/
  transcript.js): message_created live, its own sent messages from their
  acks, and a catch-up (`after_seq`, and `after_id` for servers without it)
  on `resync` and when a message skips ahead.

The counts are printed (pytest -s) and must all be 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
import socketio

from dev.devstack import Stack
from tests.support.agents import AgentClient
from tests.support.cluster import agent_on_node_b, hand_over, node_a, node_b
from tests.support.redis_server import RedisServer
from tests.support.sequence import Position
from tests.support.visitor import Visitor

pytestmark = [pytest.mark.stack, pytest.mark.postgres]

VISITORS = 20  # as in the report of the problem (issue 22)
VISITOR_PAUSE = 0.5  # seconds between one visitor's messages
AGENT_PAUSE = 0.1  # seconds between the agent's messages (round the chats)
OUTAGE_SECONDS = 6
SETTLE_SECONDS = 8


@dataclass
class Counts:
    missing: int = 0
    duplicated: int = 0
    out_of_order: int = 0

    def add(self, other: Counts) -> None:
        self.missing += other.missing
        self.duplicated += other.duplicated
        self.out_of_order += other.out_of_order


def count(expected: Iterable[int], arrivals: list[int]) -> Counts:
    """Compare what arrived (in order, repeats included) with what is stored."""
    expected = set(expected)
    got = [i for i in arrivals if i in expected]
    late, top = 0, 0
    for message_id in dict.fromkeys(got):  # first arrivals, in order
        if message_id < top:
            late += 1
        top = max(top, message_id)
    return Counts(len(expected - set(got)), len(got) - len(set(got)), late)


def visitor_arrivals(visitor: Visitor) -> list[int]:
    """Ids of bot and agent messages a visitor received, live or in a history, in order."""
    ids: list[int] = []
    for event, data in visitor.log:
        if event == "bot_uttered" and isinstance(data.get("message_id"), int):
            ids.append(data["message_id"])
        elif event == "history":
            ids.extend(
                m["id"]
                for m in data.get("messages") or []
                if m.get("direction") in ("bot", "agent")
            )
    return ids


@dataclass
class Transcript:
    """One conversation as the console holds it."""

    position: Position = field(default_factory=Position)
    shown: dict[int, dict[str, Any]] = field(default_factory=dict)
    arrivals: list[int] = field(default_factory=list)


class Console:
    """The console's transcript logic over an AgentClient (see the module docstring)."""

    def __init__(self, agent: AgentClient) -> None:
        self.agent = agent
        self.transcripts: dict[int, Transcript] = {}
        self._read = 0
        self._task: asyncio.Task[None] | None = None

    async def open(self, cid: int) -> None:
        t = self.transcripts[cid] = Transcript()
        body = await self.agent.ok("GET", f"/api/conversations/{cid}/messages?limit=500")
        self.hold(cid, body["messages"])
        seqs = [m.get("seq") for m in body["messages"] if isinstance(m.get("seq"), int)]
        t.position.covered(0, max(seqs, default=0))

    def hold(self, cid: int, messages: list[dict[str, Any]]) -> bool:
        """Merge messages in by id; True when one skipped ahead of the position."""
        t = self.transcripts[cid]
        for m in messages:
            t.arrivals.append(m["id"])
            t.shown[m["id"]] = m
            t.position.offer(m.get("seq"))
        return t.position.gap

    async def catch_up(self, cid: int) -> None:
        t = self.transcripts[cid]
        after = t.position.value
        newest = max(t.shown, default=0)
        query = f"after_seq={after}&after_id={newest}&limit=500"
        body = await self.agent.ok("GET", f"/api/conversations/{cid}/messages?{query}")
        self.hold(cid, body["messages"])
        seqs = [m.get("seq") for m in body["messages"] if isinstance(m.get("seq"), int)]
        t.position.covered(after, max([after, *seqs]))

    async def sent(self, cid: int, message: dict[str, Any]) -> None:
        if self.hold(cid, [message]):
            await self.catch_up(cid)

    async def run(self) -> None:
        while True:
            while self._read < len(self.agent.log):
                event, data = self.agent.log[self._read]
                self._read += 1
                if event == "resync":
                    for cid in list(self.transcripts):
                        await self.catch_up(cid)
                elif event == "message_created":
                    m = data["message"]
                    cid = m["conversation_id"]
                    if cid in self.transcripts and self.hold(cid, [m]):
                        await self.catch_up(cid)
            await asyncio.sleep(0.02)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def visitor_writes(visitor: Visitor, stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        payload = {"message": f"visitor line {n}", "client_id": f"v-{uuid.uuid4().hex}"}
        while not stop.is_set():  # the same message until stored (as the widget)
            try:
                await asyncio.wait_for(visitor.confirmed.wait(), 2)
                ack = await visitor.sio.call(
                    "user_uttered", {**payload, "session_id": visitor.session_id}, timeout=5
                )
                if ack.get("ok"):
                    visitor.position.offer(ack.get("seq"))
                    break
            except (TimeoutError, socketio.exceptions.SocketIOError):
                pass
            await asyncio.sleep(0.2)
        await asyncio.sleep(VISITOR_PAUSE)


async def agent_writes(console: Console, cids: list[int], stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        cid = cids[n % len(cids)]
        n += 1
        sent = await console.agent.emit(
            "send_message",
            {
                "conversation_id": cid,
                "text": f"agent line {n}",
                "client_id": f"a-{uuid.uuid4().hex}",
            },
        )
        assert sent["ok"], sent
        await console.sent(cid, sent["message"])
        await asyncio.sleep(AGENT_PAUSE)


async def stored(agent: AgentClient, cid: int) -> list[dict[str, Any]]:
    body = await agent.ok("GET", f"/api/conversations/{cid}/messages?limit=500")
    return list(body["messages"])


async def test_redis_restart_and_a_killed_node_lose_duplicate_and_reorder_nothing(
    cluster: Stack, cluster_redis: RedisServer
) -> None:
    visitors = [Visitor(rapport=True, reconnect=True) for _ in range(VISITORS)]
    async with agent_on_node_b(cluster, "Dee", max_chats=VISITORS) as agent:
        console = Console(agent)
        try:
            cids: list[int] = []
            for visitor in visitors:
                await visitor.connect(node_a(cluster))
                cids.append(await hand_over(visitor, agent))
            for cid in cids:
                await console.open(cid)
            # Only what is said from now on is counted.
            baseline = {cid: max(m["id"] for m in await stored(agent, cid)) for cid in cids}
            console.start()
            stop = asyncio.Event()
            writers = [asyncio.create_task(visitor_writes(v, stop)) for v in visitors]
            writers.append(asyncio.create_task(agent_writes(console, cids, stop)))

            await asyncio.sleep(3)
            cluster_redis.stop()
            await asyncio.sleep(OUTAGE_SECONDS)
            cluster_redis.start()
            await asyncio.sleep(8)

            # Node A dies without a goodbye; its visitors reconnect to node B.
            for visitor in visitors:
                visitor.base_url = node_b(cluster)
            proc = cluster.procs["chat"]
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            cluster.stop_process("chat")
            await asyncio.sleep(6)

            stop.set()
            await asyncio.gather(*writers)
            await asyncio.sleep(SETTLE_SECONDS)

            seen, shown = Counts(), Counts()
            written = 0
            for visitor, cid in zip(visitors, cids, strict=True):
                messages = [m for m in await stored(agent, cid) if m["id"] > baseline[cid]]
                written += len(messages)
                to_visitor = [m["id"] for m in messages if m["direction"] in ("bot", "agent")]
                seen.add(count(to_visitor, visitor_arrivals(visitor)))
                t = console.transcripts[cid]
                in_console = count([m["id"] for m in messages], t.arrivals)
                # The console shows its transcript by id, once each.
                shown.add(Counts(in_console.missing, 0, 0))
            print(
                f"\n{written} messages written; visitors (as received): {seen}; "
                f"console (as shown): {shown}"
            )
            assert written > 200, "too little traffic to prove anything"
            assert seen == Counts(), f"visitors: {seen}"
            assert shown == Counts(), f"console: {shown}"
        finally:
            await console.stop()
            for visitor in visitors:
                await visitor.close()
            if "chat" not in cluster.procs:  # node A back for the next tests
                cluster.start_chat("chat", cluster.config.chat_port)
                await asyncio.to_thread(cluster.wait_healthy, 120, node_a(cluster))
