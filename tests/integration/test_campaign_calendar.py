"""The calendar: scheduled campaigns start at starts_at, live ones end at ends_at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.migrate import upgrade_to_head
from chat_server.services.campaigns.service import CampaignService

T0 = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)


def body(**rules: Any) -> dict[str, Any]:
    return {
        "name": "Calendar",
        "rules": {k: v.isoformat() for k, v in rules.items()},
        "variants": [{"key": "A", "weight": 1, "content": {"text": "Hi"}}],
        "goal": {"type": "reply", "window_hours": 24},
    }


async def test_advance_starts_and_ends_on_time(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_to_head(engine)
        now = [T0]
        service = CampaignService(create_sessionmaker(engine), frozenset(), clock=lambda: now[0])
        later = (await service.create(body(starts_at=T0 + timedelta(hours=1)), None))["id"]
        ending = (await service.create(body(ends_at=T0 + timedelta(hours=2)), None))["id"]
        assert (await service.start(later, None))["status"] == "scheduled"
        assert (await service.start(ending, None))["status"] == "running"
        assert await service.advance() == ()
        now[0] = T0 + timedelta(hours=1)
        assert await service.advance() == (later,)
        assert (await service.get(later))["status"] == "running"
        now[0] = T0 + timedelta(hours=2)
        assert await service.advance() == (ending,)
        ended = await service.get(ending)
        assert ended["status"] == "ended" and ended["ended_at"] == now[0].isoformat()
        assert await service.advance() == ()
    finally:
        await engine.dispose()
