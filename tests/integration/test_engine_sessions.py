"""What every PostgreSQL session of the chat server is set up with
(chat_server/db/engine.py): UTC days for the analytics, and no JIT
compilation (docs/performance.md, "Dashboard queries")."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from chat_server.db.engine import create_engine
from tests.support.databases import PostgresDatabase

pytestmark = pytest.mark.postgres


async def test_postgres_sessions_run_in_utc_without_jit() -> None:
    async with PostgresDatabase() as url:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                assert await conn.scalar(text("SHOW timezone")) == "UTC"
                # Compiling a dashboard query took longer than running it.
                assert await conn.scalar(text("SHOW jit")) == "off"
        finally:
            await engine.dispose()
