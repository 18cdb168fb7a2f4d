"""Soak: many visitors and agents for a long time — nothing lost, nothing doubled, no growth.

Starts the real stack (Rasa, action server, chat server on a throwaway SQLite
database, or ``--database-url``), ``--agents`` agents online and
``--visitors`` Rapport widget connections. Every visitor sends a message every
``--interval`` seconds on average for ``--minutes``; a share of them
(``--human-share``) first ask for a person and then talk to their agent, who
answers each of their messages. Meanwhile the chat server's RSS is sampled.

Checked at the end, from what the clients received and what the database holds:

- lost: a visitor message not stored, a bot-path message with no reply, a
  human-path message the agent never saw, an agent reply the visitor never got;
- duplicated: a visitor message stored twice, a message id delivered twice to a
  visitor, a message delivered twice to an agent;
- memory: RSS at start, end and its growth over the second half of the run.

Writes bench/results/soak.json. Not part of `make test` (30 minutes by default).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chat_server.db.models import Message  # noqa: E402
from dev.devstack import Stack, StackConfig, free_port  # noqa: E402
from tests.conftest import trained_model  # noqa: E402
from tests.support.agents import AgentClient, create_agent  # noqa: E402
from tests.support.limits import GENEROUS_LIMITS_ENV  # noqa: E402


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class SoakVisitor:
    """A Rapport widget connection that records every message id it is given."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.sio = socketio.AsyncClient(reconnection=True)
        self.session_id: str | None = None
        self.confirmed = asyncio.Event()
        self.assigned = asyncio.Event()
        self.message_ids: Counter[int] = Counter()
        self.texts: list[str] = []  # bot and agent texts, in arrival order
        self.sent: list[str] = []

        @self.sio.on("session_confirm")
        async def confirm(data: dict[str, Any]) -> None:
            self.session_id = data["session_id"]
            self.confirmed.set()

        @self.sio.on("handoff_status")
        async def status(data: dict[str, Any]) -> None:
            if data.get("state") == "assigned":
                self.assigned.set()

        @self.sio.on("bot_uttered")
        async def uttered(data: dict[str, Any]) -> None:
            if isinstance(data.get("message_id"), int):
                self.message_ids[data["message_id"]] += 1
            self.texts.append(data.get("text") or "")

        @self.sio.on("connect")
        async def connected() -> None:
            await self.sio.emit("session_request", {"session_id": self.session_id, "rapport": 1})

    @property
    def visitor_id(self) -> str:
        assert self.session_id
        return self.session_id.split(".")[0]

    async def say(self, text: str) -> None:
        self.sent.append(text)
        await self.sio.emit("user_uttered", {"message": text, "session_id": self.session_id})


async def soak(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    base = stack.base_url
    chat_pid = stack.procs["chat"].pid
    agents: list[AgentClient] = []
    async with aiohttp.ClientSession() as http:
        for i in range(args.agents):
            data = await create_agent(
                http, base, stack.config.admin_token, name=f"Soak{i}", max_chats=args.max_chats
            )
            agent = await AgentClient(base, data["username"]).login()
            await agent.connect()
            await agent.set_status("online")
            agents.append(agent)
    seen_by_agents: Counter[str] = Counter()

    def on_message(data: dict[str, Any]) -> None:
        message = data.get("message") or {}
        if message.get("direction") == "visitor":
            seen_by_agents[f"{message.get('id')}"] += 1

    for agent in agents:
        assert agent.sio is not None
        agent.sio.on("message_created", on_message, namespace="/agent")

    visitors = [SoakVisitor(i) for i in range(args.visitors)]
    for start in range(0, len(visitors), 25):
        batch = visitors[start : start + 25]
        for v in batch:
            await v.sio.connect(base, transports=["websocket"])
        await asyncio.wait_for(asyncio.gather(*(v.confirmed.wait() for v in batch)), 60)
    humans = visitors[: int(len(visitors) * args.human_share)]
    for v in humans:
        await v.say("I want to talk to a person")
        await asyncio.sleep(0.2)
    await asyncio.wait_for(asyncio.gather(*(v.assigned.wait() for v in humans)), 300)

    conversations: dict[str, tuple[AgentClient, int]] = {}
    for agent in agents:
        mine = await agent.ok("GET", "/api/conversations?view=mine&limit=200")
        for c in mine["conversations"]:
            conversations[c["visitor_id"]] = (agent, c["id"])

    samples: list[tuple[float, int]] = []
    started = time.monotonic()
    end = started + args.minutes * 60
    agent_replies: list[tuple[SoakVisitor, str]] = []
    cpu_before = time.process_time()

    async def sampler() -> None:
        while time.monotonic() < end:
            samples.append((time.monotonic() - started, rss_kb(chat_pid)))
            await asyncio.sleep(15)

    bot_prompts = [
        "hi",
        "what are your shipping costs",
        "show me tents",
        "thanks",
        "do you have rain jackets",
        "what is your return policy",
    ]

    async def visitor_loop(v: SoakVisitor) -> None:
        n = 0
        while True:
            await asyncio.sleep(random.uniform(0, 2 * args.interval))
            if time.monotonic() >= end:
                return
            n += 1
            human = v.visitor_id in conversations
            text = f"{'h' if human else random.choice(bot_prompts)} #{v.index}-{n}"
            await v.say(text)
            if human:
                agent, cid = conversations[v.visitor_id]
                reply = f"agent reply to {v.index}-{n}"
                await asyncio.sleep(random.uniform(0.5, 3))
                await agent.emit("send_message", {"conversation_id": cid, "text": reply})
                agent_replies.append((v, reply))

    await asyncio.gather(sampler(), *(visitor_loop(v) for v in visitors))
    await asyncio.sleep(args.settle)
    wall = time.monotonic() - started
    cpu = time.process_time() - cpu_before

    # What the database holds.
    engine = create_async_engine(stack.config.database_url)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(Message.id, Message.visitor_id, Message.direction, Message.text)
            )
        ).all()
    await engine.dispose()
    stored = Counter((r.visitor_id, r.text) for r in rows if r.direction == "visitor")
    stored_ids = {(r.visitor_id, r.text): r.id for r in rows if r.direction == "visitor"}

    sent_total = sum(len(v.sent) for v in visitors)
    not_stored = [(v.index, t) for v in visitors for t in v.sent if stored[(v.visitor_id, t)] == 0]
    stored_twice = [k for k, n in stored.items() if n > 1]
    ids_twice = sum(1 for v in visitors for n in v.message_ids.values() if n > 1)
    # Every bot-path message gets at least one reply: fewer replies than
    # messages means some went unanswered.
    bot_no_reply = [
        (v.index, len(v.sent) - len(v.texts))
        for v in visitors
        if v.visitor_id not in conversations and len(v.texts) < len(v.sent)
    ]
    human_sent = [(v, t) for v in visitors if v.visitor_id in conversations for t in v.sent[1:]]
    agent_missed = [
        t for v, t in human_sent if seen_by_agents[str(stored_ids.get((v.visitor_id, t)))] == 0
    ]
    agent_twice = sum(1 for n in seen_by_agents.values() if n > 1)
    replies_missed = [r for v, r in agent_replies if r not in v.texts]
    replies_twice = [r for v, r in agent_replies if v.texts.count(r) > 1]

    for v in visitors:
        await v.sio.disconnect()
    for agent in agents:
        await agent.close()

    half = [kb for t, kb in samples if t >= wall / 2]
    return {
        "minutes": round(wall / 60, 1),
        "visitors": args.visitors,
        "agents": args.agents,
        "human_conversations": len(conversations),
        "visitor_messages_sent": sent_total,
        "agent_messages_sent": len(agent_replies),
        "messages_per_second": round((sent_total + len(agent_replies)) / wall, 2),
        "lost": {
            "visitor_messages_not_stored": len(not_stored),
            "bot_path_without_reply": sum(n for _, n in bot_no_reply),
            "human_path_not_seen_by_agent": len(agent_missed),
            "agent_replies_not_delivered": len(replies_missed),
        },
        "duplicated": {
            "visitor_messages_stored_twice": len(stored_twice),
            "message_ids_delivered_twice_to_a_visitor": ids_twice,
            "visitor_messages_delivered_twice_to_agents": agent_twice,
            "agent_replies_delivered_twice": len(replies_twice),
        },
        "chat_server_rss_kb": {
            "start": samples[0][1] if samples else None,
            "end": samples[-1][1] if samples else None,
            "max": max((kb for _, kb in samples), default=None),
            "second_half_growth": (half[-1] - half[0]) if len(half) > 1 else None,
            "samples": samples,
        },
        "load_generator_cpu_share": round(cpu / wall, 2),
        "examples": {
            "not_stored": not_stored[:5],
            "bot_no_reply": bot_no_reply[:5],
            "agent_missed": agent_missed[:5],
            "replies_missed": replies_missed[:5],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visitors", type=int, default=500)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--max-chats", type=int, default=12)
    parser.add_argument("--minutes", type=float, default=30)
    # One message per visitor every ~2 minutes: ~4 messages/s for 500 visitors,
    # a third of one Rasa process's capacity on this machine.
    parser.add_argument("--interval", type=float, default=120.0)
    parser.add_argument("--human-share", type=float, default=0.2)
    parser.add_argument(
        "--settle", type=float, default=20.0, help="seconds to wait for the last replies"
    )
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = StackConfig(
            model=trained_model(),
            database_url=args.database_url or f"sqlite+aiosqlite:///{tmp}/soak.db",
            log_dir=Path(tmp) / "log",
            chat_port=free_port(),
            rasa_port=free_port(),
            action_port=free_port(),
            extra_env={**GENEROUS_LIMITS_ENV, "LOG_LEVEL": "WARNING"},
        )
        with Stack(config) as stack:
            result = asyncio.run(soak(args, stack))
    result["config"] = {k: v for k, v in vars(args).items() if k != "database_url"}
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    out = ROOT / "bench" / "results" / "soak.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    summary = {k: v for k, v in result.items() if k not in ("chat_server_rss_kb",)}
    summary["rss_kb"] = {k: v for k, v in result["chat_server_rss_kb"].items() if k != "samples"}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
