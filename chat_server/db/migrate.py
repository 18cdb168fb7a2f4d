"""Apply Alembic migrations to the configured database.

Run at every chat server's start-up, and on its own before a deployment
starts its processes: ``python -m chat_server.db.migrate`` (reads
DATABASE_URL; docker-compose.yml's ``migrate`` service), which says what it
did: created the schema, upgraded it from one revision to another, or found it
already current. On PostgreSQL the
upgrade holds an advisory lock, so several nodes starting at once migrate
one after the other instead of racing on the same DDL.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# pg_advisory_lock key: any constant the whole deployment agrees on ("rapport").
MIGRATION_LOCK_KEY = 0x7261_7070_6F72_74


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade_to_head(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """Bring the schema up to date using the app's own engine.

    Returns the revision before and after (``None`` before: an empty database).
    """

    def _upgrade(connection: Connection) -> tuple[str | None, str | None]:
        before = _revision(connection)
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
        return before, _revision(connection)

    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Transaction-scoped: released at commit, or when a crashed
            # node's connection goes away.
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        return await conn.run_sync(_upgrade)


def describe(before: str | None, after: str | None) -> str:
    """What a migration run did, in one line."""
    if before is None:
        return f"created the schema at revision {after}"
    if before != after:
        return f"upgraded the schema from revision {before} to {after}"
    return f"the schema is already at revision {after} (nothing to do)"


async def _main() -> int:
    from chat_server.db.engine import create_engine

    url = os.environ.get("DATABASE_URL")
    if not url:
        print("error: set DATABASE_URL (the database to migrate)", file=sys.stderr)
        return 2
    engine = create_engine(url)
    try:
        before, after = await upgrade_to_head(engine)
    finally:
        await engine.dispose()
    print(describe(before, after))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_main()))
