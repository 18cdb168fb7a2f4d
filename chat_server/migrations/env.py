"""Alembic environment.

At start-up the chat server passes its own connection in
``config.attributes["connection"]``; from the command line
(``alembic upgrade head``) the engine is built from DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db import email_models, engagement_models  # noqa: F401  (register their tables)
from chat_server.db.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_env() -> None:
    from chat_server.settings import PROJECT_ROOT

    url = os.environ.get(
        "DATABASE_URL", f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'rapport.db'}"
    )
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_from_env())
