"""Fairness under flood: normal visitors' reply time while 6 addresses flood the bot.

One real Rasa (the trained model) and action server; for each mode a chat
server of its own in front of them, in one run:

- **fair**: bot turns scheduled fairly (RASA_MAX_CONCURRENCY at its default);
- **unbounded**: ``RASA_MAX_CONCURRENCY=0``, every turn goes to Rasa at once
  (the behaviour before fair scheduling).

Each mode has two phases of ``--duration`` seconds in all, measured in
``--rounds`` alternating windows (quiet, flood, quiet, flood...) so that other
load on the machine weighs on both alike, each window with fresh visitors:
*quiet* (only the normal visitors) and *flood* (the same number of normal
visitors, plus ``--flood-addresses`` addresses with ``--per-address`` visitors
each, every flooder sending its next message as soon as the last one is
answered, per-connection limits lifted: the worst case a few browsers per
address can do). Normal visitors each have their own address and send a
message every ``--interval`` seconds (±50 %). Addresses are simulated with
X-Forwarded-For from a trusted proxy (TRUSTED_PROXIES=127.0.0.1): documentation
addresses (203.0.113.0/24 flooders, 2001:db8::/32 normal visitors, one /64
each), written into a header only, never connected to.

Reply time is send → acknowledgement of the ``user_uttered`` (the Rapport
widget's ack comes after the bot's replies are stored and emitted). Reported:
normal visitors' p50/p99 in each phase and flood/quiet ratios (target ≤ 1.5),
flood turns answered per second and flood turns refused (queue per address
full). Timings are reported, never asserted.

    .venv/bin/python bench/flood_fairness.py [--duration 45] [--interval 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.handoff_latency import start_chat_server  # noqa: E402
from bench.stats import percentile  # noqa: E402
from dev.devstack import Stack, StackConfig, free_port  # noqa: E402
from tests.conftest import trained_model  # noqa: E402
from tests.support.limits import GENEROUS_LIMITS_ENV  # noqa: E402

MESSAGES = ["hi", "how much is shipping?", "what is your return policy?", "thanks"]
# Mode name -> the chat server's settings; --slots adds "fair, N slots" modes.
MODES: dict[str, dict[str, str]] = {"fair": {}, "unbounded": {"RASA_MAX_CONCURRENCY": "0"}}


class Client:
    """A Rapport widget connection behind ``address`` (X-Forwarded-For)."""

    def __init__(self, address: str) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.address = address
        self.session_id: str | None = None
        self.confirmed = asyncio.Event()

        @self.sio.on("session_confirm")
        async def confirm(data: Any) -> None:
            self.session_id = data["session_id"] if isinstance(data, dict) else data
            self.confirmed.set()

    async def connect(self, url: str) -> None:
        await self.sio.connect(
            url, headers={"X-Forwarded-For": self.address}, transports=["websocket"]
        )
        await self.sio.emit("session_request", {"session_id": None, "rapport": 1})
        await asyncio.wait_for(self.confirmed.wait(), 30)

    async def say(self, text: str) -> dict[str, Any]:
        """Send one message; the ack arrives once the bot's replies are out."""
        ack = await self.sio.call(
            "user_uttered",
            {"message": text, "session_id": self.session_id, "client_id": os.urandom(8).hex()},
            timeout=120,
        )
        return ack if isinstance(ack, dict) else {}

    async def close(self) -> None:
        await self.sio.disconnect()


async def normal_visitor(
    url: str,
    address: str,
    until: float,
    interval: float,
    latencies: list[float],
    failures: list[str],
) -> None:
    client = Client(address)
    await client.connect(url)
    await asyncio.sleep(random.uniform(0, interval))
    i = 0
    while time.monotonic() < until:
        started = time.perf_counter()
        ack = await client.say(MESSAGES[i % len(MESSAGES)])
        if ack.get("ok"):
            latencies.append((time.perf_counter() - started) * 1000)
        else:
            failures.append(str(ack.get("code")))
        i += 1
        await asyncio.sleep(interval * random.uniform(0.5, 1.5))
    await client.close()


async def flooder(url: str, address: str, stop: asyncio.Event, counts: dict[str, int]) -> None:
    client = Client(address)
    await client.connect(url)
    i = 0
    while not stop.is_set():
        ack = await client.say(MESSAGES[i % len(MESSAGES)])
        i += 1
        if ack.get("ok"):
            counts["answered"] += 1
        else:
            counts["refused"] += 1
            await asyncio.sleep(0.1)
    await client.close()


class Phase:
    """What one phase (quiet or flood) of one mode measured, over its windows."""

    def __init__(self, flood: bool) -> None:
        self.flood = flood
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.counts = {"answered": 0, "refused": 0}
        self.flood_seconds = 0.0
        self.cpu_seconds = 0.0
        self.wall_seconds = 0.0
        self.load: list[float] = []

    def row(self, mode: str) -> dict[str, Any]:
        lat = self.latencies
        row: dict[str, Any] = {
            "mode": mode,
            "phase": "flood" if self.flood else "quiet",
            "normal_messages": len(lat),
            "normal_failures": self.failures,
            "p50_ms": round(percentile(lat, 50), 1) if lat else None,
            "p99_ms": round(percentile(lat, 99), 1) if lat else None,
            "mean_ms": round(statistics.mean(lat), 1) if lat else None,
            "machine_load_1min": round(statistics.mean(self.load), 2) if self.load else None,
            "load_generator": {
                "cpu_seconds": round(self.cpu_seconds, 2),
                "wall_seconds": round(self.wall_seconds, 2),
                "cpu_share_of_one_core": round(self.cpu_seconds / self.wall_seconds, 2)
                if self.wall_seconds
                else 0.0,
            },
        }
        if self.flood:
            row["flood_turns_answered_per_s"] = round(
                self.counts["answered"] / self.flood_seconds, 1
            )
            row["flood_turns_refused"] = self.counts["refused"]
        return row


async def window(url: str, args: argparse.Namespace, into: Phase, seconds: float, tag: int) -> None:
    """``args.visitors`` fresh normal visitors for ``seconds`` (and the flood, in a flood phase)."""
    stop = asyncio.Event()
    flooders = []
    if into.flood:
        for a in range(args.flood_addresses):
            for _ in range(args.per_address):
                flooders.append(
                    asyncio.create_task(flooder(url, f"203.0.113.{a + 1}", stop, into.counts))
                )
        await asyncio.sleep(min(3.0, seconds / 3))  # let the flood build up
    started = time.monotonic()
    until = started + seconds
    into.load.append(os.getloadavg()[0])
    with report.own_cpu() as cpu:
        await asyncio.gather(
            *(
                normal_visitor(
                    url,
                    f"2001:db8:{tag}:{i + 1}::1",
                    until,
                    args.interval,
                    into.latencies,
                    into.failures,
                )
                for i in range(args.visitors)
            )
        )
        into.flood_seconds += time.monotonic() - started
        stop.set()
        await asyncio.gather(*flooders)
    into.load.append(os.getloadavg()[0])
    into.cpu_seconds += cpu["cpu_seconds"]
    into.wall_seconds += cpu["wall_seconds"]


async def measure(url: str, args: argparse.Namespace, mode: str, tag: int) -> list[dict[str, Any]]:
    """Quiet and flood windows in turn (``args.rounds`` each), so that whatever
    else the machine does weighs on both phases alike."""
    warm = Client(f"2001:db8:{tag}:ffff::1")
    await warm.connect(url)
    for text in MESSAGES:  # TensorFlow graphs, connection pools
        await warm.say(text)
    await warm.close()
    phases = [Phase(flood=False), Phase(flood=True)]
    seconds = args.duration / args.rounds
    for n in range(args.rounds):
        for k, into in enumerate(phases):
            await window(url, args, into, seconds, tag * 100 + n * 2 + k)
    rows = [p.row(mode) for p in phases]
    for row in rows:
        print(
            f"{mode:10s} {row['phase']:6s} p50 {row['p50_ms']} ms p99 {row['p99_ms']} ms "
            f"({row['normal_messages']} messages, load {row['machine_load_1min']}"
            + (
                f"; flood {row['flood_turns_answered_per_s']}/s answered, "
                f"{row['flood_turns_refused']} refused"
                if row["phase"] == "flood"
                else ""
            )
            + ")",
            flush=True,
        )
    return rows


def run(
    rasa_url: str,
    action_url: str,
    rasa_token: str,
    args: argparse.Namespace,
    modes: dict[str, dict[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """Every mode against one Rasa; a chat server of its own per mode (smoke test too)."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for n, (mode, settings) in enumerate((modes or MODES).items()):
            port = free_port()
            env = {
                "RASA_URL": rasa_url,
                "ACTION_SERVER_URL": action_url,
                "RASA_TOKEN": rasa_token,
                "RASA_TIMEOUT": "120",
                "TRUSTED_PROXIES": "127.0.0.1",
                "CONVERSATION_IDLE_MINUTES": "60",
                **settings,
            }
            server = start_chat_server(
                f"sqlite+aiosqlite:///{tmp / mode}.db", port, tmp / f"{mode}.log", env
            )
            try:
                rows += asyncio.run(measure(f"http://127.0.0.1:{port}", args, mode, n + 1))
            finally:
                server.terminate()
                server.wait(30)
    return rows


def ratios(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Flood / quiet for each mode's normal visitors (target: ≤ 1.5)."""
    by = {(r["mode"], r["phase"]): r for r in rows}
    out: dict[str, Any] = {}
    for mode in dict.fromkeys(r["mode"] for r in rows):
        quiet, flood = by.get((mode, "quiet")), by.get((mode, "flood"))
        if quiet and flood and quiet["p50_ms"] and flood["p50_ms"]:
            out[f"{mode}: p50 flood/quiet"] = round(flood["p50_ms"] / quiet["p50_ms"], 2)
            out[f"{mode}: p99 flood/quiet"] = round(flood["p99_ms"] / quiet["p99_ms"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=45.0, help="seconds per phase")
    parser.add_argument("--rounds", type=int, default=3, help="quiet/flood windows each")
    parser.add_argument("--interval", type=float, default=3.0, help="normal visitor's pace")
    parser.add_argument("--visitors", type=int, default=10, help="normal visitors")
    parser.add_argument("--flood-addresses", type=int, default=6)
    parser.add_argument("--per-address", type=int, default=4, help="flooding visitors each")
    parser.add_argument("--slots", default="", help="also fair with these RASA_MAX_CONCURRENCY")
    args = parser.parse_args()
    modes = dict(MODES)
    for slots in filter(None, args.slots.split(",")):
        modes[f"fair, {slots} slots"] = {"RASA_MAX_CONCURRENCY": slots}
    tmp = Path(tempfile.mkdtemp(prefix="flood-"))
    env = dict(GENEROUS_LIMITS_ENV, LOG_LEVEL="WARNING")
    config = StackConfig(
        model=trained_model(),
        database_url=f"sqlite+aiosqlite:///{tmp / 'stack'}.db",
        log_dir=tmp / "log",
        chat_port=free_port(),
        rasa_port=free_port(),
        action_port=free_port(),
        extra_env=env,
    )
    with Stack(config) as stack:
        rows = run(config.rasa_url, config.action_url, config.rasa_token, args, modes)
    del stack
    summary = ratios(rows)
    for key, value in summary.items():
        print(f"{key}: {value}")
    report.write(
        "flood_fairness",
        {
            "duration_s": args.duration,
            "interval_s": args.interval,
            "rounds": args.rounds,
            "normal_visitors": args.visitors,
            "flood_addresses": args.flood_addresses,
            "flooders_per_address": args.per_address,
            "messages": MESSAGES,
            "modes": {k: v or "defaults" for k, v in modes.items()},
        },
        rows,
        ratios=summary,
    )


if __name__ == "__main__":
    main()
