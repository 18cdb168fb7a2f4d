"""Human path: visitor→agent and agent→visitor delivery latency on one chat-server process.

Starts one chat server (no Rasa: the human path does not need it, and a bot
that is down is itself a handoff trigger) on a throwaway database, 20 agents
online with room for 10 chats each, and 200 visitors. Each visitor's first
message hands them to an agent (least loaded first). Then, concurrently:

- visitor→agent: every visitor sends ``--rounds`` messages (one every
  ~``--interval`` s on average, uniformly jittered); latency = emit → the assigned agent's
  ``message_created`` (the message is stored before it is relayed);
- agent→visitor: every agent replies to each of its conversations over its
  socket (``send_message``); latency = emit → the visitor's ``bot_uttered``.

Prints p50/p99 and writes bench/results/handoff_latency.json, with the load
generator's own CPU time so it can be seen not to be the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp
import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import servers_cpu  # noqa: E402
from bench.stats import percentile  # noqa: E402
from chat_server.gc_tuning import tune_for_serving  # noqa: E402
from dev.devstack import free_port  # noqa: E402
from tests.support.agents import AgentClient, create_agent  # noqa: E402
from tests.support.limits import GENEROUS_LIMITS_ENV as GENEROUS_LIMITS_ENV  # noqa: E402

ADMIN_TOKEN = "bench-admin-token-0123456789"


def start_chat_server(
    database_url: str, port: int, log: Path, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        PORT=str(port),
        HOST="127.0.0.1",
        SECRET_KEY="bench-secret-key-0123456789",
        ADMIN_TOKEN=ADMIN_TOKEN,
        RASA_URL=f"http://127.0.0.1:{free_port()}",
        ACTION_SERVER_URL=f"http://127.0.0.1:{free_port()}",
        RASA_TIMEOUT="1",
        LOG_LEVEL="WARNING",
        # One address opens hundreds of connections: lift the per-address limits.
        **GENEROUS_LIMITS_ENV,
    )
    env.update(extra_env or {})  # may override any of the above (RASA_URL...)
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "chat_server"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/openapi.json", timeout=2)
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"chat server did not start; see {log}")


def stop_chat_servers(servers: list[subprocess.Popen[bytes]], grace: float = 30) -> None:
    """SIGTERM every server still running (a graceful shutdown), then kill
    whichever has not exited ``grace`` seconds later."""
    for server in servers:
        if server.poll() is None:
            server.terminate()
    for server in servers:
        try:
            server.wait(grace)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


class BenchVisitor:
    """A Rapport widget connection that timestamps agent messages by their text."""

    def __init__(self, received: dict[str, float]) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.session_id: str | None = None
        self.confirmed = asyncio.Event()
        self.assigned = asyncio.Event()
        self._received = received

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
            self._arrived(data.get("text") or "")

        # A message that reached the server's socket while another was being
        # sent to it comes right after in a catch-up (transport/delivery.py).
        @self.sio.on("history")
        async def history(data: dict[str, Any]) -> None:
            for item in data.get("messages") or []:
                self._arrived(item.get("text") or "")

    def _arrived(self, text: str) -> None:
        if text.startswith("a2v-") and text not in self._received:
            self._received[text] = time.perf_counter()

    async def connect(self, base_url: str) -> None:
        await self.sio.connect(base_url, transports=["websocket"])
        await self.sio.emit("session_request", {"session_id": None, "rapport": 1})
        await self.confirmed.wait()

    async def say(self, text: str) -> None:
        await self.sio.emit("user_uttered", {"message": text, "session_id": self.session_id})


async def run(
    args: argparse.Namespace,
    base_url: str | list[str],
    agent_url: str | list[str] | None = None,
    server_pid: int | None = None,
) -> dict[str, Any]:
    """Visitors on ``base_url``; agents on ``agent_url`` (another node), default the same.
    Given lists of nodes, visitors and agents take them in turn.
    With ``args.py_spy`` and ``server_pid``: the measured phase is sampled with py-spy."""
    visitor_urls = [base_url] if isinstance(base_url, str) else base_url
    agent_urls = [agent_url] if isinstance(agent_url, str) else agent_url or visitor_urls
    sent: dict[str, float] = {}
    received: dict[str, float] = {}
    agents: list[AgentClient] = []
    async with aiohttp.ClientSession() as http:
        for i in range(args.agents):
            url = agent_urls[i % len(agent_urls)]
            data = await create_agent(
                http, url, ADMIN_TOKEN, name=f"Agent{i}", max_chats=args.max_chats
            )
            agent = await AgentClient(url, data["username"]).login()
            await agent.connect()
            await agent.set_status("online")
            agents.append(agent)

    def on_message(data: dict[str, Any]) -> None:
        text = data["message"]["text"] or ""
        if text.startswith("v2a-") and text not in received:
            received[text] = time.perf_counter()

    for agent in agents:
        assert agent.sio is not None
        agent.sio.on("message_created", on_message, namespace="/agent")
    if set(agent_urls) != set(visitor_urls) or len(visitor_urls) > 1:
        # The visitors' node learns within ~2 s that agents are connected elsewhere.
        await asyncio.sleep(2.5)

    visitors = [BenchVisitor(received) for _ in range(args.visitors)]
    for start in range(0, len(visitors), 50):
        await asyncio.gather(
            *(
                v.connect(visitor_urls[i % len(visitor_urls)])
                for i, v in enumerate(visitors[start : start + 50], start)
            )
        )
    # The first message of each visitor hands them to a person (the bot is down).
    for start in range(0, len(visitors), 20):
        batch = visitors[start : start + 20]
        await asyncio.gather(*(v.say("hello, I need help") for v in batch))
    # Each first-message handoff costs ~0.15 s here: 1,000 take minutes.
    await asyncio.wait_for(
        asyncio.gather(*(v.assigned.wait() for v in visitors)), 60 + args.visitors
    )

    conversations: dict[int, list[int]] = {}
    for agent in agents:
        mine = await agent.ok("GET", "/api/conversations?view=mine&limit=200")
        conversations[agent.id] = [c["id"] for c in mine["conversations"]]
    assigned = sum(len(c) for c in conversations.values())

    # The generator's own full collections (1,000 clients' state: 0.5-1.6 s
    # each, measured) would show up as delivery latency: set its collector
    # as the server sets its own (chat_server/gc_tuning.py).
    tune_for_serving()
    profiler = None
    if getattr(args, "py_spy", None) and server_pid is not None:
        # Only the measured phase (not the set-up's handoffs), as collapsed stacks.
        seconds = int(2 * args.interval * args.rounds)
        spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
        command = [spy, "record", "-p", str(server_pid), "-d", str(seconds), "-r", "50"]
        command += ["-f", "raw", "-o", args.py_spy, "--nonblocking"]
        profiler = await asyncio.create_subprocess_exec(*command, stdout=subprocess.DEVNULL)
    cpu_before = time.process_time()
    wall_before = time.perf_counter()

    async def visitor_loop(index: int, visitor: BenchVisitor) -> None:
        for round_ in range(args.rounds):
            await asyncio.sleep(random.uniform(0, 2 * args.interval))
            text = f"v2a-{index}-{round_}"
            sent[text] = time.perf_counter()
            await visitor.say(text)

    async def agent_loop(agent: AgentClient) -> None:
        for round_ in range(args.rounds):
            for cid in conversations[agent.id]:
                pause = 2 * args.interval / max(1, len(conversations[agent.id]))
                await asyncio.sleep(random.uniform(0, pause))
                text = f"a2v-{cid}-{round_}"
                sent[text] = time.perf_counter()
                await agent.emit("send_message", {"conversation_id": cid, "text": text})

    await asyncio.gather(
        *(visitor_loop(i, v) for i, v in enumerate(visitors)),
        *(agent_loop(a) for a in agents),
    )
    # Let the last deliveries arrive: until every message sent is in (at most 30 s).
    for _ in range(600):
        if all(k in received for k in sent):
            break
        await asyncio.sleep(0.05)
    wall = time.perf_counter() - wall_before
    cpu = time.process_time() - cpu_before
    if profiler is not None:
        await profiler.wait()

    def latencies(prefix: str) -> list[float]:
        done = [k for k in sent if k.startswith(prefix) and k in received]
        return [(received[k] - sent[k]) * 1000 for k in done]

    v2a, a2v = latencies("v2a-"), latencies("a2v-")
    expected_v2a = args.visitors * args.rounds
    expected_a2v = assigned * args.rounds
    for visitor in visitors:
        await visitor.sio.disconnect()
    for agent in agents:
        await agent.close()

    def stats(values: list[float], expected: int) -> dict[str, Any]:
        return {
            "delivered": len(values),
            "expected": expected,
            "p50_ms": round(percentile(values, 50), 1) if values else None,
            "p99_ms": round(percentile(values, 99), 1) if values else None,
            "max_ms": round(max(values), 1) if values else None,
        }

    return {
        "visitor_to_agent": stats(v2a, expected_v2a),
        "agent_to_visitor": stats(a2v, expected_a2v),
        "messages_per_second": round((len(v2a) + len(a2v)) / wall, 1),
        "load_generator_cpu_share": round(cpu / wall, 2),
        "assigned_conversations": assigned,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--max-chats", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    # A person types a message every 10 s on average (both sides): with 200
    # conversations that is ~40 messages/s offered to one process.
    parser.add_argument(
        "--interval", type=float, default=10.0, help="mean seconds between one sender's messages"
    )
    parser.add_argument("--database-url", help="default: a throwaway SQLite file")
    parser.add_argument("--out", default="handoff_latency", help="bench/results/<out>.json")
    parser.add_argument(
        "--py-spy",
        metavar="FILE",
        help="sample the server in the measured phase (collapsed stacks)",
    )
    parser.add_argument(
        "--nodes",
        type=int,
        default=1,
        help="chat-server nodes (more than one: PostgreSQL and a redis-server of its own);"
        " visitors and agents take the nodes in turn",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name, ExitStack() as stack:
        tmp = Path(name)
        env: dict[str, str] = {}
        database_url = args.database_url
        if args.nodes > 1:
            from tests.conftest import postgres_database
            from tests.support.redis_server import RedisServer

            env["REDIS_URL"] = stack.enter_context(RedisServer(tmp)).url(0)
            database_url = database_url or stack.enter_context(postgres_database())
        database_url = database_url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        ports = [free_port() for _ in range(args.nodes)]
        servers = [
            start_chat_server(database_url, port, tmp / f"chat{i}.log", env)
            for i, port in enumerate(ports)
        ]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        try:
            with servers_cpu({f"node{i}": s.pid for i, s in enumerate(servers)}) as cpu:
                result = asyncio.run(run(args, urls, server_pid=servers[0].pid))
        finally:
            stop_chat_servers(servers)
    result["config"] = {k: v for k, v in vars(args).items() if k != "database_url"}
    result["database"] = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    # From the first visitor's connection to the end of the measured phase
    # (agents' set-up and the handoffs included), per node.
    result["chat_server_cpu_seconds"] = round(sum(cpu.values()), 1)
    result["chat_server_cpu_seconds_by_node"] = cpu
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    out = ROOT / "bench" / "results" / f"{args.out}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
