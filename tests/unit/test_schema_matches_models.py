"""The migrations build the schema the models describe (alembic's autogenerate diff).

A model column or index that no migration creates (or a migration that
forgets one) fails here, on SQLite, before any service test trips over it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from chat_server.db import email_models, engagement_models  # noqa: F401  (register their tables)
from chat_server.db.engine import create_engine
from chat_server.db.migrate import upgrade_to_head
from chat_server.db.models import Base


def _meaningful(diff: Any) -> bool:
    # SQLite reports server defaults and some type spellings differently from
    # the models' variants; tables, columns and indexes are what must agree.
    kinds = (
        "add_table",
        "remove_table",
        "add_column",
        "remove_column",
        "add_index",
        "remove_index",
    )
    ops = diff if isinstance(diff, list) else [diff]
    return any(isinstance(op, tuple) and op and op[0] in kinds for op in ops)


def test_migrations_create_every_table_column_and_index_of_the_models(tmp_path: Path) -> None:
    async def diffs() -> list[Any]:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}")
        try:
            await upgrade_to_head(engine)

            def compare(connection: Connection) -> list[Any]:
                context = MigrationContext.configure(connection)
                return list(compare_metadata(context, Base.metadata))

            async with engine.connect() as conn:
                return await conn.run_sync(compare)
        finally:
            await engine.dispose()

    found = [d for d in asyncio.run(diffs()) if _meaningful(d)]
    # Not models' business: alembic's own table; Rasa's tracker store table
    # ``events`` (its indexes are created by migrations 0003/0010); the
    # visitors' external id, unique as a column in the model and as a unique
    # index in migration 0002 (the same constraint, spelt two ways).
    foreign = ("alembic_version", "table=<events>", "ux_visitors_external_id")
    found = [d for d in found if not any(name in repr(d) for name in foreign)]
    assert found == []
