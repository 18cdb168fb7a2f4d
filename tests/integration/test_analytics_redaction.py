"""REDACT_PII_IN_ANALYTICS masks PII in interaction events (real SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from chat_server.db import queries
from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.migrate import upgrade_to_head
from chat_server.db.models import InteractionEvent


@pytest.fixture
def restore_setting() -> Iterator[None]:
    yield
    queries.redact_events(False)


@pytest.mark.parametrize("enabled", [True, False])
async def test_event_data_is_redacted_when_enabled(
    tmp_path: Path, enabled: bool, restore_setting: None
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        await upgrade_to_head(engine)
        queries.redact_events(enabled)
        data = {"text": "mail jane@example.com re TR-10023", "replies": ["+49 30 1234567"]}
        async with create_sessionmaker(engine).begin() as session:
            await queries.log_event(session, "consent_changed", None, data=data)
        async with create_sessionmaker(engine)() as session:
            stored = (await session.scalars(select(InteractionEvent.data))).one()
    finally:
        await engine.dispose()
    if enabled:
        assert stored == {"text": "mail [email] re TR-10023", "replies": ["[phone]"]}
    else:
        assert stored == data
