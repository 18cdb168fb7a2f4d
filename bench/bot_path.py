"""Bot path: reply latency and throughput at 1, 10 and 50 concurrent visitors.

One model, one Rasa process per path, the same probe mix, in one run:

- **chat server**: visitors on Rapport's socket.io server (the widget's path);
- **Rasa REST**: the same model behind Rasa's REST channel, called directly;
- **Rasa socketio**: the same model behind Rasa's own socketio channel (what a
  Rasa user would put rasa-webchat on instead of Rapport);
- **before**: the chat server and Rasa REST again with this issue's changes
  turned off (``RAPPORT_BENCH_BASELINE=1``: whole-session tracker loads, the
  domain sent to every action, Rasa's per-answer schema check).

Each visitor sends the probe mix in order, one message at a time, waiting for
all of a message's replies (as many as the REST channel returns for that
message from a fresh visitor) before the next. Latency is send → last reply;
throughput is replies per second of wall time across all visitors. The load
generator's own CPU is recorded per level.

    .venv/bin/python bench/bot_path.py [--messages 20] [--levels 1,10,50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.stats import percentile  # noqa: E402
from dev.devstack import BOT_PYTHON, Stack, StackConfig, free_port  # noqa: E402
from tests.conftest import trained_model  # noqa: E402
from tests.support.limits import GENEROUS_LIMITS_ENV  # noqa: E402

# The "simple messages": a greeting, two policy questions, thanks.
PROBES = ["hi", "how much is shipping?", "what is your return policy?", "thanks"]
SOCKETIO_CREDENTIALS = """\
socketio:
  user_message_evt: user_uttered
  bot_message_evt: bot_uttered
  session_persistence: false
"""

Turn = Callable[[str], Awaitable[None]]


class SocketVisitor:
    """A socket.io visitor (Rapport's or Rasa's server) that waits for N replies."""

    def __init__(self, rapport: bool) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.rapport = rapport
        self.session_id: str | None = None
        self.confirmed = asyncio.Event()
        self.replies = 0
        self.changed = asyncio.Event()

        @self.sio.on("session_confirm")
        async def confirm(data: Any) -> None:
            self.session_id = data["session_id"] if isinstance(data, dict) else data
            self.confirmed.set()

        @self.sio.on("bot_uttered")
        async def uttered(data: Any) -> None:
            self.replies += 1
            self.changed.set()

    async def connect(self, url: str) -> None:
        await self.sio.connect(url, transports=["websocket"])
        request: dict[str, Any] = {"session_id": uuid.uuid4().hex if not self.rapport else None}
        if self.rapport:
            request["rapport"] = 1
        await self.sio.emit("session_request", request)
        await asyncio.wait_for(self.confirmed.wait(), 30)

    async def turn(self, text: str, expected: int) -> None:
        target = self.replies + expected
        await self.sio.emit("user_uttered", {"message": text, "session_id": self.session_id})
        while self.replies < target:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 60)

    async def close(self) -> None:
        await self.sio.disconnect()


async def expected_replies(rasa_url: str, messages: list[str]) -> list[int]:
    """How many messages Rasa answers each probe with, for a fresh visitor."""
    sender = uuid.uuid4().hex
    counts = []
    async with aiohttp.ClientSession() as http:
        for text in messages:
            async with http.post(
                f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
            ) as resp:
                counts.append(len(await resp.json()))
    return counts


async def run_level(
    path: str,
    url: str,
    visitors: int,
    messages: list[str],
    expected: list[int],
    servers: dict[str, int] | None = None,
    flame: str | None = None,
) -> dict[str, Any]:
    """``visitors`` concurrent visitors each sending ``messages``; latency per message.

    ``servers`` (name -> pid): the CPU each spends per message is reported;
    ``flame``: a py-spy flame graph of the ``chat`` server, by that name."""
    latencies: list[float] = []

    async def one_socket_visitor(rapport: bool) -> None:
        visitor = SocketVisitor(rapport)
        await visitor.connect(url)
        await ready.wait()
        for text, n in zip(messages, expected, strict=True):
            started = time.perf_counter()
            await visitor.turn(text, n)
            latencies.append((time.perf_counter() - started) * 1000)
        await visitor.close()

    async def one_rest_visitor(http: aiohttp.ClientSession) -> None:
        sender = uuid.uuid4().hex
        await ready.wait()
        for text in messages:
            started = time.perf_counter()
            async with http.post(
                f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
            ) as resp:
                await resp.json()
            latencies.append((time.perf_counter() - started) * 1000)

    ready = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        if path.endswith("REST"):
            tasks = [asyncio.create_task(one_rest_visitor(http)) for _ in range(visitors)]
        else:
            rapport = path.endswith("chat server")
            tasks = [asyncio.create_task(one_socket_visitor(rapport)) for _ in range(visitors)]
            await asyncio.sleep(0.5 + visitors * 0.02)  # let every visitor connect first
        with (
            report.flame_graph((servers or {}).get("chat") if flame else None, flame or ""),
            report.servers_cpu(servers or {}) as server_cpu,
            report.own_cpu() as cpu,
        ):
            ready.set()
            await asyncio.gather(*tasks)
    wall = cpu["wall_seconds"]
    per_turn = {
        f"{name}_cpu_ms_per_message": round(seconds * 1000 / len(latencies), 2)
        for name, seconds in server_cpu.items()
    }
    return {
        "path": path,
        "visitors": visitors,
        "messages": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "mean_ms": round(statistics.mean(latencies), 1),
        "throughput_msg_s": round(len(latencies) / wall, 1) if wall else 0.0,
        "load_generator": cpu,
        **per_turn,
    }


def start_rasa_socketio(stack: Stack, port: int, tmp: Path) -> subprocess.Popen[bytes]:
    """A second Rasa process with the same model, endpoints and database,
    serving Rasa's own socketio channel."""
    credentials = tmp / "socketio-credentials.yml"
    credentials.write_text(SOCKETIO_CREDENTIALS)
    with (tmp / "rasa-socketio.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                str(BOT_PYTHON),
                "launch_rasa.py",
                "run",
                "-i",
                "127.0.0.1",
                "-p",
                str(port),
                "--model",
                str(stack.config.model.resolve()),
                "--credentials",
                str(credentials),
                "--endpoints",
                "endpoints.yml",
            ],
            cwd=ROOT / "bot",
            env=stack._env("rasa"),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            import urllib.request

            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"Rasa (socketio) did not start: {tmp / 'rasa-socketio.log'}")


async def measure(
    paths: dict[str, str],
    levels: list[int],
    messages: list[str],
    expected: list[int],
    servers: dict[str, int] | None = None,
    flame: str | None = None,
    alone: int = 1,
) -> list[dict[str, Any]]:
    """Every path at every level. ``alone``: how many times one visitor (level 1)
    sends the probe list, so its few seconds are long enough for the servers'
    CPU per message not to hinge on a periodic job falling inside them."""
    rows = []
    for level in levels:
        repeat = alone if level == 1 else 1
        for path, url in paths.items():
            # Warm up this path (TensorFlow graphs, connection pools) before timing it.
            await run_level(path, url, 2, messages[:4], expected[:4])
            sampled = flame if (path == "chat server" and level == max(levels)) else None
            row = await run_level(
                path, url, level, messages * repeat, expected * repeat, servers, sampled
            )
            cpu = "  ".join(
                f"{k.split('_')[0]} {v:.1f}" for k, v in row.items() if k.endswith("per_message")
            )
            print(
                f"{path:28s} x{level:<3d} p50 {row['p50_ms']:7.1f} p99 {row['p99_ms']:7.1f} ms"
                f"  {row['throughput_msg_s']:6.1f} msg/s  (generator CPU "
                f"{row['load_generator']['cpu_share_of_one_core']:.2f} core; "
                f"servers' CPU ms/message: {cpu})",
                flush=True,
            )
            rows.append(row)
    return rows


def stack_config(tmp: Path, name: str, baseline: bool) -> StackConfig:
    env = dict(GENEROUS_LIMITS_ENV, LOG_LEVEL="WARNING", INTERACTION_LOG="true")
    if baseline:
        env["RAPPORT_BENCH_BASELINE"] = "1"
    return StackConfig(
        model=trained_model(),
        database_url=f"sqlite+aiosqlite:///{tmp / name}.db",
        log_dir=tmp / f"log-{name}",
        chat_port=free_port(),
        rasa_port=free_port(),
        action_port=free_port(),
        extra_env=env,
    )


def server_pids(stack: Stack) -> dict[str, int]:
    """The stack's chat server, Rasa and action server processes."""
    return {name: stack.procs[name].pid for name in ("chat", "rasa", "actions")}


def run_suite(
    levels: list[int],
    count: int,
    include_baseline: bool = True,
    flame: str | None = None,
    alone: int = 1,
) -> list[dict[str, Any]]:
    """Every path at every level; returns the result rows (used by the smoke test too)."""
    messages = [PROBES[i % len(PROBES)] for i in range(count)]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if include_baseline:
            with Stack(stack_config(tmp, "before", baseline=True)) as stack:
                expected = asyncio.run(expected_replies(stack.config.rasa_url, messages))
                paths = {
                    "before: chat server": stack.base_url,
                    "before: Rasa REST": stack.config.rasa_url,
                }
                rows += asyncio.run(
                    measure(paths, levels, messages, expected, server_pids(stack), alone=alone)
                )
        with Stack(stack_config(tmp, "now", baseline=False)) as stack:
            expected = asyncio.run(expected_replies(stack.config.rasa_url, messages))
            socketio_port = free_port()
            rasa_socketio = start_rasa_socketio(stack, socketio_port, tmp)
            try:
                paths = {
                    "chat server": stack.base_url,
                    "Rasa REST": stack.config.rasa_url,
                    "Rasa socketio": f"http://127.0.0.1:{socketio_port}",
                }
                servers = {**server_pids(stack), "rasa_socketio": rasa_socketio.pid}
                rows += asyncio.run(
                    measure(paths, levels, messages, expected, servers, flame, alone)
                )
            finally:
                os.killpg(rasa_socketio.pid, 15)
                rasa_socketio.wait(30)
    return rows


def ratios(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Now vs before and chat server vs the Rasa channels, per level."""
    by = {(r["path"], r["visitors"]): r for r in rows}
    out: dict[str, Any] = {}
    for (path, level), row in by.items():
        before = by.get((f"before: {path}", level))
        if before:
            out[f"{path} x{level}: p50 now/before"] = round(row["p50_ms"] / before["p50_ms"], 2)
            out[f"{path} x{level}: throughput now/before"] = round(
                row["throughput_msg_s"] / before["throughput_msg_s"], 2
            )
        if path == "chat server":
            for other in ("Rasa REST", "Rasa socketio"):
                if (other, level) in by:
                    out[f"x{level}: p50 chat server/{other}"] = round(
                        row["p50_ms"] / by[(other, level)]["p50_ms"], 2
                    )
    return out


def plot(rows: list[dict[str, Any]], levels: list[int]) -> None:
    paths = list(dict.fromkeys(r["path"] for r in rows))

    def bars(metric: str) -> Callable[[Any], None]:
        def draw(ax: Any) -> None:
            width = 0.8 / len(paths)
            for i, path in enumerate(paths):
                values = [
                    next(
                        (r[metric] for r in rows if r["path"] == path and r["visitors"] == level), 0
                    )
                    for level in levels
                ]
                ax.bar([x + i * width for x in range(len(levels))], values, width, label=path)
            ax.set_xticks(
                [x + 0.4 - width / 2 for x in range(len(levels))],
                [f"{level} visitor{'s' if level != 1 else ''}" for level in levels],
            )
            ax.set_ylabel("ms" if metric.endswith("_ms") else "replies / s")
            ax.legend(fontsize=8)

        return draw

    report.plot("bot_path_p50", bars("p50_ms"), "Bot reply latency p50 (send → last reply)")
    report.plot("bot_path_p99", bars("p99_ms"), "Bot reply latency p99")
    report.plot(
        "bot_path_throughput", bars("throughput_msg_s"), "Bot replies per second (one Rasa process)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20, help="messages per visitor")
    parser.add_argument("--levels", default="1,10,50")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--flame",
        default="bot_path_flame",
        help="py-spy flame graph of the chat server at the top level (bench/results/NAME.svg;"
        " '' for none)",
    )
    parser.add_argument("--name", default="bot_path", help="results file name")
    parser.add_argument(
        "--alone",
        type=int,
        default=5,
        help="one visitor sends the messages this many times (a longer, steadier level)",
    )
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    rows = run_suite(
        levels,
        args.messages,
        include_baseline=not args.no_baseline,
        flame=args.flame or None,
        alone=args.alone,
    )
    summary = ratios(rows)
    for key, value in summary.items():
        print(f"{key}: {value}")
    report.write(
        args.name,
        {
            "messages_per_visitor": args.messages,
            "one_visitor_sends_times": args.alone,
            "levels": levels,
            "probes": PROBES,
        },
        rows,
        ratios=summary,
    )
    plot(rows, levels)


if __name__ == "__main__":
    main()
