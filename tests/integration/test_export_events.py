"""`python -m chat_server export-events`: the real command on a seeded log, its
formats and bad arguments, and flat memory however many rows it streams."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.migrate import upgrade_to_head
from chat_server.db.models import InteractionEvent
from chat_server.services import export
from dev.devstack import ROOT

DAY1 = datetime(2026, 5, 1, tzinfo=UTC)


async def seed(database_url: str, count: int, start: datetime = DAY1) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_to_head(engine)
        async with engine.begin() as conn:
            for first in range(0, count, 5000):
                await conn.execute(
                    insert(InteractionEvent),
                    [
                        {
                            "type": "page_view" if i % 2 else "message_received",
                            "visitor_id": f"v{i % 7}",
                            "conversation_id": None,
                            "data": {"path": f"/p/{i}", "n": i},
                            "created_at": start + timedelta(seconds=i),
                        }
                        for i in range(first, min(count, first + 5000))
                    ],
                )
    finally:
        await engine.dispose()


def run_export(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "export-test-secret-012345"}
    return subprocess.run(
        [sys.executable, "-m", "chat_server", "export-events", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.slow  # runs the CLI in a subprocess: not the fast tier
async def test_exports_jsonl_and_csv_with_bounds_and_types(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'log.db'}"
    await seed(url, 10)  # events at DAY1 + 0..9 s; odd seconds are page views
    jsonl = run_export(
        url, "--since", "2026-05-01T00:00:02", "--until", "2026-05-01T00:00:06", "--format", "jsonl"
    )
    assert jsonl.returncode == 0, jsonl.stderr
    rows = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [r["data"]["n"] for r in rows] == [2, 3, 4, 5]  # --until is exclusive
    assert rows[1] == {
        "id": rows[1]["id"],
        "type": "page_view",
        "visitor_id": "v3",
        "conversation_id": None,
        "created_at": rows[1]["created_at"],
        "data": {"path": "/p/3", "n": 3},
    }
    assert datetime.fromisoformat(rows[1]["created_at"]).replace(tzinfo=UTC) == DAY1 + timedelta(
        seconds=3
    )
    assert "exported 4 events" in jsonl.stderr

    out = tmp_path / "views.csv"
    done = run_export(
        url,
        "--since",
        "2026-05-01",
        "--type",
        "page_view",
        "--format",
        "csv",
        "--output",
        str(out),
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [json.loads(r["data"])["n"] for r in table] == [1, 3, 5, 7, 9]
    assert list(table[0]) == list(export.COLUMNS)


@pytest.mark.slow  # runs the CLI in a subprocess: not the fast tier
async def test_bad_arguments_get_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'log.db'}"
    await seed(url, 1)
    for args, says in [
        (["--since", "yesterday"], "not an ISO date"),
        (["--since", "2026-05-02", "--until", "2026-05-01"], "--until must be after --since"),
        (["--since", "2026-05-01", "--format", "xml"], "invalid choice"),
        ([], "--since"),
    ]:
        result = run_export(url, *args)
        assert result.returncode != 0, args
        assert says in result.stderr, (args, result.stderr)


@pytest.mark.slow
async def test_memory_stays_flat_however_many_rows(tmp_path: Path) -> None:
    """Streaming: exporting 10x more rows takes no more peak memory (within noise)."""
    small_url = f"sqlite+aiosqlite:///{tmp_path / 'small.db'}"
    large_url = f"sqlite+aiosqlite:///{tmp_path / 'large.db'}"
    await seed(small_url, 6_000)
    await seed(large_url, 60_000)

    async def peak(url: str) -> tuple[int, int]:
        engine = create_engine(url)
        # Writing to /dev/null never blocks; the test measures memory, not I/O.
        sink = open(os.devnull, "w")  # noqa: SIM115, ASYNC230 - closed below
        tracemalloc.start()
        try:
            written = await export.write(
                export.events(create_sessionmaker(engine), DAY1), sink, "jsonl"
            )
            return written, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            sink.close()
            await engine.dispose()

    small_rows, small_peak = await peak(small_url)
    large_rows, large_peak = await peak(large_url)
    assert (small_rows, large_rows) == (6_000, 60_000)
    # Holding the rows would take 10x; streaming stays within a batch or two.
    assert large_peak < small_peak * 2, (small_peak, large_peak)
