"""The benchmark harness keeps working: each bench, tiny, against real processes.

`make bench` runs them at full size; here a few clients send a few messages so
a change that breaks a load generator is caught by `make test`. Only what the
harness reports is checked (every message answered, stored, counted), never
how fast: timings are not asserted in tests.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dev.devstack import Stack, free_port

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import bot_path, idle_capacity, persist_throughput, session_length  # noqa: E402
from bench.handoff_latency import start_chat_server  # noqa: E402

# The benchmarks themselves, briefly: the full tier only (make test-fast skips them).
pytestmark = pytest.mark.slow


async def test_bot_path_measures_every_path_it_is_given(live_stack: Stack) -> None:
    messages = bot_path.PROBES
    expected = await bot_path.expected_replies(live_stack.config.rasa_url, messages)
    assert all(n >= 1 for n in expected), expected
    paths = {"chat server": live_stack.base_url, "Rasa REST": live_stack.config.rasa_url}
    servers = bot_path.server_pids(live_stack)
    rows = await bot_path.measure(paths, [2], messages, expected, servers)
    assert [(r["path"], r["visitors"], r["messages"]) for r in rows] == [
        ("chat server", 2, 8),
        ("Rasa REST", 2, 8),
    ]
    for row in rows:
        assert 0 < row["p50_ms"] <= row["p99_ms"]
        assert row["throughput_msg_s"] > 0
        assert row["load_generator"]["wall_seconds"] > 0
    by_path = {r["path"]: r for r in rows}
    # Each path's own front server works for its turns; Rasa works for both.
    assert by_path["chat server"]["chat_cpu_ms_per_message"] > 0
    assert by_path["chat server"]["rasa_cpu_ms_per_message"] > 0
    assert by_path["Rasa REST"]["rasa_cpu_ms_per_message"] > 0
    assert "x2: p50 chat server/Rasa REST" in bot_path.ratios(rows)


async def test_session_length_probes_the_same_session_and_new_visitors(live_stack: Stack) -> None:
    rows = await session_length.run(live_stack.base_url, total=4, step=4, probes=2)
    assert [r["session_messages"] for r in rows] == [0, 4]
    assert all(r["in_session_p50_ms"] > 0 and r["new_visitor_p50_ms"] > 0 for r in rows)


def test_flood_fairness_measures_both_modes_in_both_phases(live_stack: Stack) -> None:
    from bench import flood_fairness

    args = argparse.Namespace(
        duration=1.5, rounds=1, interval=0.3, visitors=2, flood_addresses=2, per_address=1
    )
    c = live_stack.config
    rows = flood_fairness.run(c.rasa_url, c.action_url, c.rasa_token, args)
    assert [(r["mode"], r["phase"]) for r in rows] == [
        ("fair", "quiet"),
        ("fair", "flood"),
        ("unbounded", "quiet"),
        ("unbounded", "flood"),
    ]
    for row in rows:
        assert row["normal_messages"] > 0 and row["normal_failures"] == [], row
        assert 0 < row["p50_ms"] <= row["p99_ms"]
    assert all(r["flood_turns_answered_per_s"] > 0 for r in rows if r["phase"] == "flood")
    assert set(flood_fairness.ratios(rows)) == {
        "fair: p50 flood/quiet",
        "fair: p99 flood/quiet",
        "unbounded: p50 flood/quiet",
        "unbounded: p99 flood/quiet",
    }


@pytest.fixture
def chat_server_only() -> Iterator[tuple[Path, int, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        port = free_port()
        server = start_chat_server(f"sqlite+aiosqlite:///{db}", port, Path(tmp) / "chat.log")
        try:
            yield db, port, server.pid
        finally:
            server.terminate()
            server.wait(30)


@pytest.mark.parametrize("rate", [0.0, 40.0])
def test_persist_throughput_counts_every_stored_message(rate: float) -> None:
    args = argparse.Namespace(agents=2, messages=5, rate=rate)
    result = asyncio.run(persist_throughput.one(args, "sqlite", 4, 256))
    # Paced (rate): 20 messages at 40 a second take half a second or more.
    assert rate == 0 or result["seconds_until_all_stored"] >= 0.45
    assert result["stored"] == result["sent"] == 20
    assert result["relayed_to_agents"] == 20
    assert result["persisted_messages_per_second"] > 0
    # Read from the server's group-commit histograms.
    assert result["messages_per_commit"] >= 1
    assert 0 <= result["committed_within_20ms"] <= 1


def test_idle_capacity_holds_its_connections(chat_server_only: tuple[Path, int, int]) -> None:
    _, port, pid = chat_server_only
    args = argparse.Namespace(visitors=20, idle=1.0, batch=10, shutdown_wait=30.0)
    result = asyncio.run(idle_capacity.run(args, port, pid))
    assert result["connected"] == result["still_connected_after_idle"] == 20
    assert result["failures"] == []
    assert result["server_rss_mib_connected"] > 0
    # Then SIGTERM with everyone connected: every client saw its close, the process ended.
    shutdown = result["shutdown"]
    assert shutdown["connected_at_sigterm"] == shutdown["clients_closed"] == 20, shutdown
    # Each was told (the Engine.IO close packet), not just cut off mid-stream.
    assert shutdown["clients_told_close"] == 20, shutdown
    assert shutdown["all_clients_closed_after_seconds"] is not None, shutdown
    assert shutdown["process_exited_after_seconds"] is not None, shutdown


@pytest.mark.postgres
def test_scale_out_relay_crosses_nodes_and_counts_every_message(tmp_path: Path) -> None:
    from bench import scale_out
    from tests.support.redis_server import RedisServer

    args = argparse.Namespace(visitors=4, agents=2, max_chats=5, rounds=2, interval=0.2)
    with RedisServer(tmp_path) as redis:
        row = scale_out.relay_row(tmp_path, redis, 2, args)
    assert row["nodes"] == 2
    for direction in ("visitor_to_agent", "agent_to_visitor"):
        assert row[direction]["delivered"] == row[direction]["expected"] > 0, row
    assert row["messages_per_second"] > 0


@pytest.mark.postgres
def test_failover_moves_every_visitor_and_loses_no_message() -> None:
    """A rolling restart of node A: every widget resumes its own session on
    node B, and every message typed at the moment of the SIGTERM is stored
    once and answered (acknowledged on A, or re-sent on B with its client id)."""
    from bench import failover

    args = argparse.Namespace(visitors=40, talkers=15, batch=20, shutdown_wait=30.0)
    result = failover.measure(args)
    assert result["joined_node_a"] == result["clients_told_close"] == 40, result
    assert result["node_a_exited_after_seconds"] is not None, result
    assert result["clients_with_a_session_on_b"] == result["resumed_their_own_session"] == 40
    assert result["talker_messages_never_acked"] == 0, result
    assert result["talker_messages_stored_once"] == result["talker_messages_answered"] == 15
    assert result["talker_messages_stored_twice_or_more"] == 0
    assert result["errors"] == [], result


@pytest.mark.postgres
def test_segment_count_seeds_and_counts_every_segment() -> None:
    from bench import segment_count

    result = asyncio.run(segment_count.main(rows=2000, runs=1, write=False))
    assert result["seed"]["traits_rows"] == 2000 and result["seed"]["tag_rows"] > 0
    assert [r["segment"] for r in result["segments"]] == list(segment_count.SEGMENTS)
    for row in result["segments"]:
        assert 0 < row["count"] < 2000, row
        assert row["plan"][0].startswith("Aggregate"), row["plan"]
