"""Reply latency against the length of the current session (issue 10: flat within a session).

Through the real chat server, one visitor keeps talking in a single session
(no idle gap, so Rasa never starts a new one) up to ``--messages`` messages.
At checkpoints (0, 100, 200, … messages) it sends ``--probes`` timed probe
messages, interleaved one for one with brand-new visitors sending the same
probe, so "long session" and "new visitor" are measured under the same
conditions in the same run. With ``--baseline`` the same runs again with this
issue's changes off (``RAPPORT_BENCH_BASELINE=1``) up to ``--baseline-messages``.

Latency is send → the last reply (a reply is "last" after 250 ms of quiet,
timestamped when it arrived). Writes bench/results/session_length.json and
session_length.png.

    .venv/bin/python bench/session_length.py [--messages 500] [--baseline]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.bot_path import stack_config  # noqa: E402
from bench.stats import percentile  # noqa: E402
from dev.devstack import Stack  # noqa: E402
from tests.support.visitor import Visitor  # noqa: E402

PROBES = ["hi", "how much is shipping?", "what is your return policy?", "thanks"]
FILLER = [
    "show me tents",
    "what about backpacks",
    "how much is shipping?",
    "thanks",
    "what is your return policy?",
    "any promotions right now?",
]


async def timed(visitor: Visitor, text: str) -> float:
    started = time.perf_counter()
    await visitor.say(text, quiet=0.25, timeout=120)
    return (visitor.last_event_at - started) * 1000


async def run(base_url: str, total: int, step: int, probes: int) -> list[dict[str, Any]]:
    long = Visitor(rapport=True)
    await long.connect(base_url)
    sent = 0
    checkpoints = []
    all_latencies: list[tuple[int, float]] = []
    for checkpoint in range(0, total + 1, step):
        while sent < checkpoint:
            all_latencies.append((sent, await timed(long, FILLER[sent % len(FILLER)])))
            sent += 1
        in_session: list[float] = []
        fresh: list[float] = []
        for i in range(probes):
            text = PROBES[i % len(PROBES)]
            newcomer = Visitor(rapport=True)
            await newcomer.connect(base_url)
            fresh.append(await timed(newcomer, text))
            await newcomer.close()
            latency = await timed(long, text)
            in_session.append(latency)
            all_latencies.append((sent, latency))
            sent += 1
        row = {
            "session_messages": checkpoint,
            "in_session_p50_ms": round(percentile(in_session, 50), 1),
            "new_visitor_p50_ms": round(percentile(fresh, 50), 1),
        }
        row["ratio"] = round(row["in_session_p50_ms"] / row["new_visitor_p50_ms"], 2)
        print(
            f"after {checkpoint:4d} messages: in session {row['in_session_p50_ms']:7.1f} ms, "
            f"new visitor {row['new_visitor_p50_ms']:7.1f} ms, ratio {row['ratio']:.2f}",
            flush=True,
        )
        checkpoints.append(row)
    await long.close()
    return checkpoints


def measure(total: int, step: int, probes: int, baseline: bool) -> list[dict[str, Any]]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        Stack(stack_config(Path(tmp), "session", baseline=baseline)) as stack,
    ):
        return asyncio.run(run(stack.base_url, total, step, probes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--step", type=int, default=100)
    parser.add_argument("--probes", type=int, default=12)
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--baseline-messages", type=int, default=300)
    args = parser.parse_args()
    results: dict[str, Any] = {"now": measure(args.messages, args.step, args.probes, False)}
    if args.baseline:
        results["before"] = measure(args.baseline_messages, args.step, args.probes, True)
    report.write("session_length", vars(args), results)

    def draw(ax: Any) -> None:
        for label, rows in results.items():
            xs = [r["session_messages"] for r in rows]
            ax.plot(
                xs,
                [r["in_session_p50_ms"] for r in rows],
                marker="o",
                label=f"{label}: same session",
            )
            ax.plot(
                xs,
                [r["new_visitor_p50_ms"] for r in rows],
                linestyle="--",
                label=f"{label}: new visitor",
            )
        ax.set_xlabel("messages already in the session")
        ax.set_ylabel("reply p50 (ms)")
        ax.set_yscale("log")
        ax.legend(fontsize=8)

    report.plot("session_length", draw, "Reply latency vs session length (through the chat server)")


if __name__ == "__main__":
    main()
