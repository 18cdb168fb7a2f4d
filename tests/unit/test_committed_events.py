"""The session factory tells subscribers about logged events only once they
are committed: never at a SAVEPOINT's release (SQLAlchemy calls after_commit
there too), never for a transaction that then rolls back (db/engine.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db import event_queries
from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.migrate import upgrade_to_head


@pytest.fixture
async def heard(
    tmp_path: Path,
) -> AsyncIterator[tuple[list[list[str]], async_sessionmaker[AsyncSession]]]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    await upgrade_to_head(engine)
    calls: list[list[str]] = []
    yield calls, create_sessionmaker(engine, calls.append)
    await engine.dispose()


Heard = tuple[list[list[str]], async_sessionmaker[AsyncSession]]


async def test_a_released_savepoint_is_not_a_commit(heard: Heard) -> None:
    calls, sessions = heard
    async with sessions.begin() as session:
        await event_queries.log_event(session, "consent_changed", "v1")
        async with session.begin_nested():
            await event_queries.log_event(session, "lead_captured", "v1")
        assert calls == []  # released, not committed
    assert calls == [["consent_changed", "lead_captured"]]


async def test_events_before_a_savepoint_are_not_heard_when_the_outer_rolls_back(
    heard: Heard,
) -> None:
    calls, sessions = heard
    with pytest.raises(RuntimeError):
        async with sessions.begin() as session:
            await event_queries.log_event(session, "consent_changed", "v1")
            async with session.begin_nested():
                pass
            raise RuntimeError("the turn failed")
    assert calls == []
    async with sessions.begin() as session:
        await event_queries.log_event(session, "page_view", "v1")
    assert calls == [["page_view"]]
