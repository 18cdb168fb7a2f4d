"""Bot-path latency with the interaction event log on vs off, in the same run.

One Rasa and action server, two chat servers on the same database: one with
INTERACTION_LOG=true (the default), one with INTERACTION_LOG=false. Each round
sends the same message as a fresh visitor to both, alternating which goes
first, so both see the same Rasa, the same load and the same drift. Reports
p50/p90 per server and the difference (issue 9's target: p50 within 1 ms).
Results: bench/results/event_log_overhead.json. Part of `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats import summary  # noqa: E402
from dev.devstack import Stack, StackConfig, free_port  # noqa: E402
from tests.conftest import trained_model  # noqa: E402
from tests.support.limits import GENEROUS_LIMITS_ENV  # noqa: E402
from tests.support.visitor import Visitor  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "event_log_overhead.json"


async def one_reply(base_url: str, text: str) -> float:
    """Milliseconds from sending ``text`` as a new visitor to the last bot reply."""
    visitor = Visitor()
    await visitor.connect(base_url)
    try:
        started = time.perf_counter()
        await visitor.say(text, quiet=0.25, timeout=60)
        return (visitor.last_event_at - started) * 1000
    finally:
        await visitor.close()


async def run(on_url: str, off_url: str, rounds: int) -> dict[str, list[float]]:
    for text in SCRIPT:  # warm-up: TF graph, caches, connection pools
        await one_reply(on_url, text)
        await one_reply(off_url, text)
    timings: dict[str, list[float]] = {"on": [], "off": []}
    for i in range(rounds):
        text = SCRIPT[i % len(SCRIPT)]
        order = [("on", on_url), ("off", off_url)]
        if i % 2:
            order.reverse()
        for name, url in order:
            timings[name].append(await one_reply(url, text))
    return timings


# A visitor's first turns, varied: greeting, searches, policy questions.
SCRIPT = [
    "hi",
    "show me tents",
    "do you have something cheaper",
    "what about backpacks",
    "how much is shipping",
    "what is your return policy",
    "any promotions right now?",
    "thanks",
    "I need hiking boots in size 42",
    "bye",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = StackConfig(
            model=trained_model(),
            database_url=f"sqlite+aiosqlite:///{tmp}/bench.db",
            log_dir=Path(tmp) / "log",
            chat_port=free_port(),
            rasa_port=free_port(),
            action_port=free_port(),
            extra_env=dict(GENEROUS_LIMITS_ENV),
        )
        with Stack(config) as logging_on:
            off_config = dataclasses.replace(
                config,
                chat_port=free_port(),
                log_dir=Path(tmp) / "log-off",
                extra_env={**GENEROUS_LIMITS_ENV, "INTERACTION_LOG": "false"},
            )
            logging_off = Stack(off_config)
            try:
                logging_off.start_chat()
                logging_off.wait_healthy()
                timings = asyncio.run(run(logging_on.base_url, logging_off.base_url, args.rounds))
            finally:
                logging_off.stop()
    on, off = summary("event log on", timings["on"]), summary("event log off", timings["off"])
    result = {
        "benchmark": "event_log_overhead",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "rounds": args.rounds,
        "on": on,
        "off": off,
        "p50_difference_ms": round(float(on["p50_ms"]) - float(off["p50_ms"]), 2),
        "p50_ratio": round(float(on["p50_ms"]) / float(off["p50_ms"]), 3),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
