"""Where a bot turn's time goes: a per-message cost breakdown (issue 10, step 1).

Runs in the bot's venv (Python 3.10, rasa 3.6): loads the trained model
in-process with the project's tracker store (a throwaway SQLite file) and a
real action server, then replays a visitor session and times, per turn:

- tracker load (``retrieve``) and save;
- every graph node (each NLU component, each policy, the ensemble);
- every action-server round trip, with its request payload size;
- the rest of Rasa's message processing (``other``).

Probe turns are measured at a new visitor (turn 1..10) and again after the
session has grown to ``--long`` messages, so the growth is visible per part.

    .venv-bot/bin/python bench/profile_turn.py [--long 300] [--mode both|now|before]

``before`` turns this issue's changes off (``RAPPORT_BENCH_BASELINE=1``, see
bot/speedups.py); ``both`` (the default) profiles before and now, each in its
own process, into one bench/results/profile.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"
sys.path.insert(0, str(BOT))

PROBES = [
    "hi",
    "how much is shipping?",
    "what is your return policy?",
    "thanks",
    "show me tents",
    "any promotions right now?",
]
FILLER = [
    "what about backpacks",
    "thanks",
    "how long does delivery take",
    "ok",
    "show me jackets",
    "do you have something cheaper",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Recorder:
    """Accumulates (part -> seconds) and payload sizes for the current turn."""

    def __init__(self) -> None:
        self.turn: dict[str, float] = defaultdict(float)
        self.calls: list[dict[str, Any]] = []

    def reset(self) -> None:
        self.turn = defaultdict(float)
        self.calls = []


def instrument(rec: Recorder) -> None:
    """Wrap Rasa's graph nodes, tracker store and action endpoint with timers."""
    from rasa.engine.graph import GraphNode
    from rasa.utils.endpoints import EndpointConfig
    from storage.tracker_store import SessionScopedSQLTrackerStore

    original_call = GraphNode.__call__

    def timed_call(self: Any, *inputs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_call(self, *inputs)
        finally:
            rec.turn[f"node:{self._node_name}"] += time.perf_counter() - started

    GraphNode.__call__ = timed_call

    for name in ("retrieve", "save"):
        original = getattr(SessionScopedSQLTrackerStore, name)

        def make(original: Any, name: str) -> Any:
            async def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await original(self, *args, **kwargs)
                finally:
                    rec.turn[f"tracker_store:{name}"] += time.perf_counter() - started

            return timed

        setattr(SessionScopedSQLTrackerStore, name, make(original, name))

    original_request = EndpointConfig.request

    async def timed_request(self: Any, *args: Any, **kwargs: Any) -> Any:
        body = kwargs.get("json")
        size = len(json.dumps(body)) if body is not None else 0
        started = time.perf_counter()
        try:
            return await original_request(self, *args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            rec.turn["action_server"] += elapsed
            action = body.get("next_action") if isinstance(body, dict) else None
            rec.calls.append({"action": action, "bytes": size, "ms": round(elapsed * 1000, 2)})

    EndpointConfig.request = timed_request


async def profile(model: Path, long: int, db: Path, action_url: str) -> dict[str, Any]:
    import logging

    from rasa.core.agent import load_agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.utils import AvailableEndpoints
    from rasa.utils.log_utils import configure_structlog

    logging.getLogger("rasa").setLevel(logging.INFO)  # as `rasa run` logs by default
    configure_structlog(logging.INFO)
    os.environ["ACTION_SERVER_URL"] = action_url
    os.environ["TRACKER_STORE_URL"] = f"sqlite:///{db}"
    endpoints = AvailableEndpoints.read_endpoints(str(BOT / "endpoints.yml"))
    agent = await load_agent(model_path=str(model), endpoints=endpoints)
    store = agent.tracker_store
    while not hasattr(store, "engine"):  # unwrap Rasa's FailSafe/Awaitable wrappers
        store = store._tracker_store
    import sqlalchemy as sa

    with store.engine.begin() as conn:  # what the chat server's migrations add
        for ddl in (
            "CREATE INDEX IF NOT EXISTS ix_events_sender_type_timestamp "
            "ON events (sender_id, type_name, timestamp)",
            "CREATE INDEX IF NOT EXISTS ix_events_sender_timestamp "
            "ON events (sender_id, timestamp)",
            "CREATE INDEX IF NOT EXISTS ix_events_sender_type_action_id "
            "ON events (sender_id, type_name, action_name, id)",
        ):
            conn.execute(sa.text(ddl))

    import speedups

    if os.environ.get("RAPPORT_BENCH_BASELINE") == "1":  # as before issue 10
        speedups.apply_baseline()
    else:  # what bot/launch_rasa.py runs
        speedups.apply()
    rec = Recorder()
    instrument(rec)

    async def turn(sender: str, text: str) -> dict[str, Any]:
        rec.reset()
        started = time.perf_counter()
        await agent.handle_message(UserMessage(text, CollectingOutputChannel(), sender))
        total = time.perf_counter() - started
        parts = {k: round(v * 1000, 3) for k, v in rec.turn.items()}
        measured = sum(v for k, v in rec.turn.items() if k != "action_server")
        # action-server time happens inside graph-less processor code: add it once
        parts["other"] = round((total - measured - rec.turn["action_server"]) * 1000, 3)
        return {
            "text": text,
            "total_ms": round(total * 1000, 3),
            "parts": parts,
            "action_calls": list(rec.calls),
        }

    for text in PROBES:  # warm-up: TensorFlow graphs, caches
        await turn("warm-up", text)

    rounds = 5
    fresh: list[dict[str, Any]] = []
    for _ in range(rounds):
        sender = uuid.uuid4().hex
        for text in PROBES:
            fresh.append(await turn(sender, text))

    sender = uuid.uuid4().hex
    for i in range(long):
        await turn(sender, FILLER[i % len(FILLER)])
    tracker = await store.retrieve(sender)
    long_turns: list[dict[str, Any]] = []
    for _ in range(rounds):
        for text in PROBES:
            long_turns.append(await turn(sender, text))
    return {
        "fresh": fresh,
        "long": long_turns,
        "long_session_messages": long,
        "events_loaded_in_long_session": len(tracker.events) if tracker else 0,
    }


def summarise(turns: list[dict[str, Any]]) -> dict[str, Any]:
    parts: dict[str, list[float]] = defaultdict(list)
    for t in turns:
        for k, v in t["parts"].items():
            parts[k].append(v)
    calls = [c for t in turns for c in t["action_calls"]]
    return {
        "total_ms_p50": round(statistics.median(t["total_ms"] for t in turns), 2),
        "parts_ms_mean": {
            k: round(sum(v) / len(turns), 3)
            for k, v in sorted(parts.items(), key=lambda kv: -sum(kv[1]))
        },
        "action_calls_per_turn": round(len(calls) / len(turns), 2),
        "action_payload_bytes_mean": (
            round(statistics.mean(c["bytes"] for c in calls)) if calls else 0
        ),
        "actions_called": sorted({str(c["action"]) for c in calls}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--model",
        default=os.environ.get("RAPPORT_MODEL") or str(ROOT / "var/models/current.tar.gz"),
    )
    parser.add_argument("--long", type=int, default=300)
    parser.add_argument("--out", default=str(ROOT / "bench/results/profile.json"))
    parser.add_argument("--mode", choices=["both", "now", "before"], default="both")
    args = parser.parse_args()
    if args.mode == "both":  # each mode in its own process: the patches are global
        merged = {}
        for mode in ("before", "now"):
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "p.json"
                subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--mode",
                        mode,
                        "--long",
                        str(args.long),
                        "--model",
                        args.model,
                        "--out",
                        str(out),
                    ],
                    check=True,
                )
                merged[mode] = json.loads(out.read_text())
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(merged, indent=1))
        print(f"wrote {args.out}")
        return
    if args.mode == "before":
        os.environ["RAPPORT_BENCH_BASELINE"] = "1"

    port = free_port()
    actions = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "-p", str(port)],
        cwd=BOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        with tempfile.TemporaryDirectory() as tmp:
            raw = asyncio.run(
                profile(Path(args.model), args.long, Path(tmp) / "t.db", f"http://127.0.0.1:{port}")
            )
    finally:
        actions.terminate()
        actions.wait(10)

    import rasa

    result = {
        "benchmark": "profile_turn",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": {"rasa": rasa.__version__},
        "config": {
            "mode": args.mode,
            "long_session_messages": args.long,
            "probes": PROBES,
            "model": Path(args.model).resolve().name,
        },
        "fresh": summarise(raw["fresh"]),
        "long": summarise(raw["long"]),
        "events_loaded_in_long_session": raw["events_loaded_in_long_session"],
        "turns": raw,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    for label in ("fresh", "long"):
        s = result[label]
        print(
            f"\n{label}: p50 {s['total_ms_p50']} ms, {s['action_calls_per_turn']} action "
            f"calls/turn, {s['action_payload_bytes_mean']} B/call, {s['actions_called']}"
        )
        for part, ms in list(s["parts_ms_mean"].items())[:14]:
            print(f"  {part:55s} {ms:8.2f} ms")
    print(f"events loaded in the long session: {result['events_loaded_in_long_session']}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
