"""Group commit (chat_server/db/group_commit.py) on SQLite and PostgreSQL:
concurrent units share transactions, a caller hears back only after the
commit, and a failing unit fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from chat_server.db import conversation_queries, message_queries
from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.group_commit import GroupCommit
from chat_server.db.migrate import upgrade_to_head
from chat_server.db.models import Message, Visitor


class Refused(Exception):
    """A unit that fails on purpose."""


async def _setup(
    database_url: str, visitors: int
) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    sessions = create_sessionmaker(engine)
    async with sessions.begin() as session:
        session.add_all(Visitor(id=f"v{i}", profile={}) for i in range(visitors))
    return engine, sessions


def _store(
    visitor_id: str, text: str, fail: bool = False
) -> Callable[[AsyncSession], Awaitable[int]]:
    async def unit(session: AsyncSession) -> int:
        conversation = await conversation_queries.open_conversation(session, visitor_id)
        message = await message_queries.add_message(session, conversation, "visitor", text)
        if fail:
            raise Refused(visitor_id)
        return message.id

    return unit


async def _count(sessions: async_sessionmaker[AsyncSession], text: str | None = None) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(Message)
        if text is not None:
            query = query.where(Message.text == text)
        return int(await session.scalar(query) or 0)


async def test_concurrent_units_share_commits_and_are_stored_when_answered(
    database_url: str,
) -> None:
    engine, sessions = await _setup(database_url, 50)
    commits = GroupCommit(sessions)
    seen_at_answer: list[int] = []

    async def one(i: int) -> int:
        message_id = await commits.run(_store(f"v{i}", f"m{i}"))
        # Persist before relay: what run() answers is already committed.
        seen_at_answer.append(await _count(sessions, f"m{i}"))
        return message_id

    ids = await asyncio.gather(*(one(i) for i in range(50)))
    assert len(set(ids)) == 50
    assert seen_at_answer == [1] * 50
    assert await _count(sessions) == 50
    assert commits.units == 50
    # 50 callers at once: the first commits alone, the rest queue behind it.
    assert commits.batches < 10, commits.batches
    await engine.dispose()


async def test_a_failing_unit_fails_alone(database_url: str) -> None:
    engine, sessions = await _setup(database_url, 20)
    commits = GroupCommit(sessions)
    outcomes = await asyncio.gather(
        *(commits.run(_store(f"v{i}", f"m{i}", fail=i == 7)) for i in range(20)),
        return_exceptions=True,
    )
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failed) == 1 and isinstance(failed[0], Refused)
    assert str(failed[0]) == "v7"
    assert await _count(sessions) == 19
    assert await _count(sessions, "m7") == 0
    # The others were numbered once each: their batch ran again without the bad unit.
    async with sessions() as session:
        seqs = (await session.scalars(select(Message.seq).order_by(Message.id))).all()
    assert seqs == [1] * 19
    await engine.dispose()


async def test_a_cancelled_caller_is_not_run(database_url: str) -> None:
    engine, sessions = await _setup(database_url, 3)
    commits = GroupCommit(sessions)
    first = asyncio.ensure_future(commits.run(_store("v0", "first")))
    queued = asyncio.ensure_future(commits.run(_store("v1", "gave up")))
    await asyncio.sleep(0)  # both queued; the first batch is starting
    queued.cancel()
    await first
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert await commits.run(_store("v2", "later")) > 0
    assert await _count(sessions, "gave up") == 0
    assert await _count(sessions) == 2
    await engine.dispose()


async def test_bulk_items_are_written_together_and_fall_back_to_their_own_unit(
    database_url: str,
) -> None:
    engine, sessions = await _setup(database_url, 12)
    commits = GroupCommit(sessions)
    calls: list[list[str]] = []

    async def bulk(session: AsyncSession, items: list[Any]) -> list[Any]:
        """Takes every item but v3's (left to its own unit)."""
        calls.append(list(items))
        out: list[Any] = []
        for visitor_id in items:
            if visitor_id == "v3":
                out.append(None)
                continue
            out.append(await _store(visitor_id, f"bulk {visitor_id}")(session))
        return out

    outcomes = await asyncio.gather(
        *(commits.run_bulk(bulk, f"v{i}", _store(f"v{i}", f"own v{i}")) for i in range(10)),
        commits.run(_store("v11", "plain")),
    )
    assert all(isinstance(o, int) for o in outcomes)
    assert await _count(sessions, "own v3") == 1 and await _count(sessions, "bulk v3") == 0
    assert await _count(sessions) == 11
    # Queued behind the first commit, the rest went to one bulk call.
    assert len(calls) <= 3 and sum(len(c) for c in calls) == 10

    # A unit that fails makes the batch run again, each item by its own unit.
    calls.clear()
    mixed = await asyncio.gather(
        *(commits.run_bulk(bulk, f"v{i}", _store(f"v{i}", f"again v{i}")) for i in range(5)),
        commits.run(_store("v11", "refused", fail=True)),
        return_exceptions=True,
    )
    assert [type(o) for o in mixed[:5]] == [int] * 5 and isinstance(mixed[5], Refused)
    assert await _count(sessions, "refused") == 0
    assert await _count(sessions) == 11 + 5
    await engine.dispose()
