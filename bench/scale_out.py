"""Scale-out: what a second Rasa process and a second chat-server node buy.

Everything on PostgreSQL (a throwaway database on 127.0.0.1:5432) and a
redis-server this script starts on a free port, as docker-compose.yml runs it:

1. **Bot path, 1 vs 2 Rasa processes.** One chat server (RASA_URL lists the
   Rasa processes; they share the tracker store and Rasa's Redis lock store).
   N visitors at once, each sending the probe mix one message at a time and
   waiting for the replies (bench/bot_path.py's visitor). Reported: replies/s,
   p50/p95/p99 of send → last reply.
2. **Visitor↔agent relay, 1 vs 2 chat-server nodes.** No Rasa (the bot being
   away hands every visitor to a person). Visitors and agents on one node, or
   visitors on node A and agents on node B (every message crosses Redis).
   bench/handoff_latency.py's load: every visitor and agent sends a message
   every ~``--interval`` s. Reported: messages/s delivered, p50/p99 per direction.

This machine has 2 cores: the chat server(s), PostgreSQL, Redis, the Rasa
processes and the load generator all share them, so a second Rasa process can
at best use the second core — the figures say how much of that it gets.

    .venv/bin/python bench/scale_out.py [--levels 10,30] [--messages 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bot_path, handoff_latency, report  # noqa: E402
from dev.devstack import Stack, StackConfig, free_port  # noqa: E402
from tests.conftest import postgres_database, trained_model  # noqa: E402
from tests.support.limits import GENEROUS_LIMITS_ENV  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402


def bot_path_rows(
    tmp: Path, redis: RedisServer, rasa: int, levels: list[int], count: int
) -> list[dict[str, Any]]:
    """The chat server's bot path with ``rasa`` Rasa processes behind it."""
    messages = [bot_path.PROBES[i % len(bot_path.PROBES)] for i in range(count)]
    with postgres_database() as database_url:
        config = StackConfig(
            model=trained_model(),
            database_url=database_url,
            log_dir=tmp / f"log-rasa{rasa}",
            chat_port=free_port(),
            rasa_port=free_port(),
            action_port=free_port(),
            extra_env=dict(GENEROUS_LIMITS_ENV, LOG_LEVEL="WARNING"),
            extra_rasa_ports=[free_port() for _ in range(rasa - 1)],
            redis_url=redis.url(0),
            lock_store_url=redis.url(1),
        )
        with Stack(config) as stack:
            expected = asyncio.run(bot_path.expected_replies(stack.config.rasa_url, messages))
            label = f"{rasa} Rasa"
            rows = asyncio.run(
                bot_path.measure({label: stack.base_url}, levels, messages, expected)
            )
    return rows


def relay_row(
    tmp: Path, redis: RedisServer, nodes: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Visitor↔agent relay on one node, or visitors on A and agents on B."""
    with postgres_database() as database_url:
        ports = [free_port() for _ in range(nodes)]
        env = {"REDIS_URL": redis.url(0)} if nodes > 1 else {}
        servers = [
            handoff_latency.start_chat_server(database_url, port, tmp / f"chat{nodes}-{i}.log", env)
            for i, port in enumerate(ports)
        ]
        try:
            urls = [f"http://127.0.0.1:{port}" for port in ports]
            result = asyncio.run(handoff_latency.run(args, urls[0], urls[-1]))
        finally:
            handoff_latency.stop_chat_servers(servers)
    result["nodes"] = nodes
    return result


def plot(bot: list[dict[str, Any]], relay: list[dict[str, Any]], levels: list[int]) -> None:
    labels = list(dict.fromkeys(r["path"] for r in bot))

    def bot_bars(ax: Any) -> None:
        width = 0.8 / max(1, len(labels))
        for i, label in enumerate(labels):
            values = [
                next(
                    r["throughput_msg_s"]
                    for r in bot
                    if r["path"] == label and r["visitors"] == level
                )
                for level in levels
            ]
            ax.bar([x + i * width for x in range(len(levels))], values, width, label=label)
        ax.set_xticks(
            [x + 0.4 - width / 2 for x in range(len(levels))],
            [f"{level} visitors" for level in levels],
        )
        ax.set_ylabel("bot replies / s")
        ax.legend(fontsize=8)

    def relay_bars(ax: Any) -> None:
        names = [f"{r['nodes']} node{'s' if r['nodes'] > 1 else ''}" for r in relay]
        ax.bar(names, [r["messages_per_second"] for r in relay])
        ax.set_ylabel("relayed messages / s")

    report.plot("scale_out_bot", bot_bars, "Bot path: 1 vs 2 Rasa processes (2 cores)")
    report.plot("scale_out_relay", relay_bars, "Visitor-agent relay: 1 vs 2 chat-server nodes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--levels", default="10,30", help="concurrent visitors (bot path)")
    parser.add_argument("--messages", type=int, default=10, help="messages per visitor")
    # 220 senders, one message every ~0.4 s each: ~550 messages/s offered, more
    # than one node relays on this machine (bench/results/handoff_latency_*.json).
    parser.add_argument("--visitors", type=int, default=200, help="relay: visitors")
    parser.add_argument("--agents", type=int, default=20, help="relay: agents")
    parser.add_argument("--max-chats", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--interval",
        type=float,
        default=0.4,
        help="relay: mean seconds between one sender's messages",
    )
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    with tempfile.TemporaryDirectory() as name, RedisServer(Path(name)) as redis:
        tmp = Path(name)
        bot = [
            row for rasa in (1, 2) for row in bot_path_rows(tmp, redis, rasa, levels, args.messages)
        ]
        relay = [relay_row(tmp, redis, nodes, args) for nodes in (1, 2)]
    by = {(r["path"], r["visitors"]): r for r in bot}
    ratios: dict[str, float] = {}
    for level in levels:
        one, two = by[("1 Rasa", level)], by[("2 Rasa", level)]
        ratios[f"x{level}: throughput 2/1 Rasa"] = round(
            two["throughput_msg_s"] / one["throughput_msg_s"], 2
        )
        ratios[f"x{level}: p99 2/1 Rasa"] = round(two["p99_ms"] / one["p99_ms"], 2)
    ratios["relay: messages/s 2/1 nodes"] = round(
        relay[1]["messages_per_second"] / relay[0]["messages_per_second"], 2
    )
    for direction in ("visitor_to_agent", "agent_to_visitor"):
        one_p99, two_p99 = relay[0][direction]["p99_ms"], relay[1][direction]["p99_ms"]
        if one_p99 and two_p99:
            ratios[f"relay {direction}: p99 2/1 nodes"] = round(two_p99 / one_p99, 2)
    for key, value in ratios.items():
        print(f"{key}: {value}")
    for row in relay:
        print(
            f"relay {row['nodes']} node(s): {row['messages_per_second']} msg/s, "
            f"v2a p50/p99 {row['visitor_to_agent']['p50_ms']}/{row['visitor_to_agent']['p99_ms']}"
            f" ms, a2v p50/p99 {row['agent_to_visitor']['p50_ms']}/"
            f"{row['agent_to_visitor']['p99_ms']} ms, delivered "
            f"{row['visitor_to_agent']['delivered']}/{row['visitor_to_agent']['expected']} + "
            f"{row['agent_to_visitor']['delivered']}/{row['agent_to_visitor']['expected']}"
        )
    config = {k: v for k, v in vars(args).items()}
    config["cpus"] = os.cpu_count()
    report.write("scale_out", config, {"bot_path": bot, "relay": relay}, ratios=ratios)
    plot(bot, relay, levels)


if __name__ == "__main__":
    main()
