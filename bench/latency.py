"""Bot reply latency: through the chat server vs directly against Rasa's REST channel.

Starts the real stack (trained model, action server, Rasa, chat server) on free
ports with a throwaway SQLite database, then sends the same 100-message script
sequentially (a) through the chat server's socket protocol and (b) straight to
Rasa's stock REST channel, each as a fresh visitor. Prints p50/p90/p99 and the
chat server's overhead. Run with `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats import percentile  # noqa: E402
from dev.devstack import Stack, StackConfig, free_port  # noqa: E402
from tests.conftest import trained_model  # noqa: E402
from tests.support.limits import GENEROUS_LIMITS_ENV  # noqa: E402
from tests.support.visitor import Visitor  # noqa: E402

SCRIPT = [
    "hi", "show me tents", "do you have something cheaper", "what about backpacks",
    "how much is shipping", "what is your return policy", "any promotions right now?",
    "thanks", "I need hiking boots in size 42", "bye",
]


def summary(name: str, values: list[float]) -> dict[str, float | str]:
    return {
        "path": name, "n": len(values),
        "p50_ms": round(percentile(values, 50), 1), "p90_ms": round(percentile(values, 90), 1),
        "p99_ms": round(percentile(values, 99), 1), "mean_ms": round(statistics.mean(values), 1),
    }


async def via_chat_server(base_url: str, messages: list[str]) -> list[float]:
    visitor = Visitor()
    await visitor.connect(base_url)
    latencies = []
    for text in messages:
        started = time.perf_counter()
        await visitor.say(text, quiet=0.25, timeout=60)
        latencies.append((visitor.last_event_at - started) * 1000)  # until the last reply
    await visitor.close()
    return latencies


async def via_rasa_rest(rasa_url: str, messages: list[str]) -> list[float]:
    sender = uuid.uuid4().hex
    latencies = []
    async with aiohttp.ClientSession() as http:
        for text in messages:
            started = time.perf_counter()
            async with http.post(f"{rasa_url}/webhooks/rest/webhook",
                                 json={"sender": sender, "message": text}) as resp:
                await resp.json()
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def run(stack: Stack, count: int) -> list[dict[str, float | str]]:
    messages = [SCRIPT[i % len(SCRIPT)] for i in range(count)]
    await via_rasa_rest(stack.config.rasa_url, SCRIPT)  # warm-up (TF graph, caches)
    direct = await via_rasa_rest(stack.config.rasa_url, messages)
    relayed = await via_chat_server(stack.base_url, messages)
    return [summary("rasa REST direct", direct), summary("chat server (socket.io)", relayed)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = StackConfig(
            model=trained_model(), database_url=f"sqlite+aiosqlite:///{tmp}/bench.db",
            log_dir=Path(tmp) / "log", chat_port=free_port(), rasa_port=free_port(),
            action_port=free_port(), extra_env=GENEROUS_LIMITS_ENV,
        )
        with Stack(config) as stack:
            rows = asyncio.run(run(stack, args.messages))
    for row in rows:
        print(json.dumps(row))
    direct, relayed = rows
    print(f"chat server p50 overhead: {relayed['p50_ms'] - direct['p50_ms']:.1f} ms "
          f"(ratio {relayed['p50_ms'] / direct['p50_ms']:.2f}x); "
          f"p99 ratio {relayed['p99_ms'] / direct['p99_ms']:.2f}x")


if __name__ == "__main__":
    main()
