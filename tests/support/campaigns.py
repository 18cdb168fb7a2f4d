"""Campaign rows and what the engine stored, read and written straight in the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from chat_server.db.engagement_models import Campaign, CampaignAssignment, EngagementState
from chat_server.db.models import InteractionEvent, utcnow
from chat_server.services.campaigns.cache import LiveCampaign
from chat_server.services.campaigns.engine import arm_for

CAMPAIGN_EVENTS = (
    "campaign_eligible",
    "campaign_assigned",
    "campaign_exposed",
    "campaign_shown",
    "campaign_dismissed",
    "campaign_replied",
    "campaign_converted",
    "nps_submitted",
)


def campaign_values(**values: Any) -> dict[str, Any]:
    """A running campaign on every product page, shown after 10 s on the page."""
    defaults: dict[str, Any] = {
        "name": "Test campaign",
        "status": "running",
        "priority": 0,
        "kind": "nps",
        "rules": {"url_include": ["http://127.0.0.1/products/*"], "active_seconds": 10},
        "variants": [
            {"key": "A", "weight": 1.0, "content": {"question": "How likely ...?"}},
        ],
        "holdout": 0.0,
        "goal": {"type": "nps", "window_hours": 72},
        "per_visitor_cap": 1,
        "cooldown_hours": 72,
        "version": 1,
        "started_at": utcnow(),
    }
    return {**defaults, **values}


def live(values: dict[str, Any], campaign_id: int) -> LiveCampaign:
    return LiveCampaign.of(Campaign(id=campaign_id, **campaign_values(**values)))


def version_with_arm(values: dict[str, Any], campaign_id: int, unit: str, arm: str) -> int:
    """A version number under which ``unit`` hashes into ``arm`` (tests pick arms)."""
    for version in range(1, 500):
        if arm_for(live({**values, "version": version}, campaign_id), unit) == arm:
            return version
    raise AssertionError(f"no version puts {unit} in {arm}")


async def add_campaign(database_url: str, **values: Any) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(insert(Campaign).values(**campaign_values(**values)))
            return int(result.inserted_primary_key[0])  # type: ignore[index]
    finally:
        await engine.dispose()


async def campaign_events(database_url: str, visitor_id: str | None = None) -> list[Any]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            query = select(InteractionEvent).where(InteractionEvent.type.in_(CAMPAIGN_EVENTS))
            if visitor_id is not None:
                query = query.where(InteractionEvent.visitor_id == visitor_id)
            return list((await conn.execute(query.order_by(InteractionEvent.id))).all())
    finally:
        await engine.dispose()


async def assignments(database_url: str) -> list[Any]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(select(CampaignAssignment))).all())
    finally:
        await engine.dispose()


async def manners_state(database_url: str, unit: str) -> Any:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return (
                await conn.execute(select(EngagementState).where(EngagementState.unit == unit))
            ).one_or_none()
    finally:
        await engine.dispose()


async def known_units(database_url: str, units: list[str]) -> None:
    """Manners rows for these units, as a visitor seen before has (so a race is
    decided by the compare-and-set, not by the first insert of the row)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            for unit in units:
                await conn.execute(
                    insert(EngagementState).values(unit=unit, version=3, shown=[], dismissed={})
                )
    finally:
        await engine.dispose()
