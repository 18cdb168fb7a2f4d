"""Throwaway databases for tests: a SQLite file, or a fresh PostgreSQL database.

PostgreSQL is the real server on 127.0.0.1:5432 (override with
RAPPORT_TEST_PG, e.g. postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

PG_ADMIN_URL = os.environ.get("RAPPORT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def sqlite_database(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite+aiosqlite:///{tmp_path / 'rapport.db'}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _exists(name: str) -> bool:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


class PostgresDatabase:
    """Creates ``rapport_test_<random>`` and drops it afterwards; or, given a
    ``keep`` name, uses that database (created if missing) and keeps it."""

    def __init__(self, keep: str | None = None) -> None:
        self.keep = keep
        self.name = keep or f"rapport_test_{uuid.uuid4().hex[:12]}"
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        self.url = f"{base}/{self.name}"

    async def __aenter__(self) -> str:
        if self.keep is None or not await _exists(self.name):
            await _admin(f'CREATE DATABASE "{self.name}"')
        return self.url

    async def __aexit__(self, *exc: object) -> None:
        if self.keep is None:
            await _admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
