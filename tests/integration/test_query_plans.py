"""Hot-path queries use indexes, on SQLite and on PostgreSQL.

The statements are the ones the chat server really runs (captured from its
engine while a visitor resumes a session and sends a message), not copies.
On PostgreSQL sequential scans are disabled for the EXPLAIN, so the plan
shows whether an index *can* serve the query even on these small tables.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import event

from chat_server.http.keys import ENGINE
from tests.integration.conftest import base
from tests.support.visitor import Visitor

OUR_TABLES = ("visitors", "conversations", "messages", "interaction_events")


def unindexed_scans(plan: list[str]) -> list[str]:
    """Scan nodes on our tables without an index condition (a full scan, even via an index)."""
    bad = []
    for i, line in enumerate(plan):
        if "Scan" in line and any(f" on {t}" in line for t in OUR_TABLES):
            details = []
            for following in plan[i + 1 :]:
                if "->" in following:
                    break
                details.append(following)
            if not any("Index Cond" in d or "Recheck Cond" in d for d in details):
                bad.append(line)
    return bad


async def test_hot_path_queries_use_indexes(server: TestServer) -> None:
    url = base(server)
    first = Visitor()
    confirm = await first.connect(url)
    for text in ("one", "two", "three"):
        await first.say(text)
    await first.close()
    others = Visitor()
    await others.connect(url)
    await others.say("someone else")
    await others.close()

    engine = server.app[ENGINE]
    captured: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
            captured.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        again = Visitor()
        await again.connect(url, session_id=confirm["session_id"])  # resume + history page
        await again.say("four")  # store, (Rasa down) reply, store
        await again.close()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)

    statements = [(s, p) for s, p in captured if any(t in s for t in OUR_TABLES)]
    assert len(statements) >= 4, statements
    problems: list[tuple[str, object]] = []
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            for statement, params in statements:
                plan = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)).all()
                scans = [
                    row[-1]
                    for row in plan
                    if str(row[-1]).startswith("SCAN")
                    and any(t in str(row[-1]) for t in OUR_TABLES)
                ]
                if scans:
                    problems.append((statement, scans))
        else:
            await conn.exec_driver_sql("SET enable_seqscan = off")
            for statement, params in statements:
                explained = await conn.exec_driver_sql("EXPLAIN " + statement, params)
                lines: list[str] = [r[0] for r in explained.all()]
                if unindexed_scans(lines):
                    problems.append((statement, "\n".join(lines)))
    assert not problems, problems
