"""The running campaigns, cached in each node's memory.

Every node answers page views from memory; a cheap stamp query (how many
running campaigns, their newest ``updated_at`` and largest id) tells it
whether another node or the console changed something, at most every
``refresh_seconds``. A change made through this node's service calls
``invalidate`` and is seen at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db.engagement_models import Campaign
from chat_server.services.campaigns.matching import CompiledRules, compile_rules
from chat_server.services.campaigns.rules import CampaignRules

log = logging.getLogger(__name__)

REFRESH_SECONDS = 3.0
RUNNING = "running"


@dataclass(frozen=True)
class LiveCampaign:
    """A running campaign as the engine reads it (detached from any session)."""

    id: int
    name: str
    priority: int
    kind: str
    rules: dict[str, Any]
    variants: list[dict[str, Any]]
    holdout: float
    goal: dict[str, Any]
    segment_id: int | None
    agent_id: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    per_visitor_cap: int
    cooldown_hours: int
    version: int
    compiled: CompiledRules

    @classmethod
    def of(cls, row: Campaign) -> LiveCampaign:
        """Raises pydantic's ValidationError for rules the rule model refuses."""
        return cls(
            id=row.id,
            name=row.name,
            priority=row.priority,
            kind=row.kind,
            rules=dict(row.rules or {}),
            variants=list(row.variants or []),
            holdout=row.holdout,
            goal=dict(row.goal or {}),
            segment_id=row.segment_id,
            agent_id=row.agent_id,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            per_visitor_cap=row.per_visitor_cap,
            cooldown_hours=row.cooldown_hours,
            version=row.version,
            compiled=compile_rules(CampaignRules.model_validate(row.rules or {})),
        )

    def variant(self, key: str) -> dict[str, Any] | None:
        return next((v for v in self.variants if v.get("key") == key), None)


class CampaignCache:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self._sessions = sessionmaker
        self._refresh = refresh_seconds
        self._stamp: tuple[Any, ...] | None = None
        # Never checked: -inf, not 0 (monotonic time starts near 0 at boot).
        self._checked = -math.inf
        self._campaigns: tuple[LiveCampaign, ...] = ()
        self._by_id: dict[int, LiveCampaign] = {}
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Reload on the next read (a campaign changed through this node)."""
        self._stamp = None
        self._checked = -math.inf

    async def running(self) -> tuple[LiveCampaign, ...]:
        """Running campaigns, highest priority first (then oldest first)."""
        if time.monotonic() - self._checked >= self._refresh:
            async with self._lock:
                if time.monotonic() - self._checked >= self._refresh:
                    await self._reload_if_changed()
        return self._campaigns

    async def get(self, campaign_id: int) -> LiveCampaign | None:
        await self.running()
        return self._by_id.get(campaign_id)

    async def _reload_if_changed(self) -> None:
        async with self._sessions() as session:
            stamp = tuple(
                (
                    await session.execute(
                        select(
                            func.count(Campaign.id),
                            func.max(Campaign.updated_at),
                            func.max(Campaign.id),
                            func.sum(Campaign.version),
                        ).where(Campaign.status == RUNNING)
                    )
                ).one()
            )
            if stamp != self._stamp:
                rows = await session.scalars(
                    select(Campaign)
                    .where(Campaign.status == RUNNING)
                    .order_by(Campaign.priority.desc(), Campaign.id)
                )
                self._campaigns = tuple(c for c in map(_live, rows) if c is not None)
                self._by_id = {c.id: c for c in self._campaigns}
                self._stamp = stamp
        self._checked = time.monotonic()


def _live(row: Campaign) -> LiveCampaign | None:
    try:
        return LiveCampaign.of(row)
    except ValueError as exc:  # the service validates; a row edited by hand may not be
        log.error("campaign %s has rules the engine cannot read, skipped: %s", row.id, exc)
        return None
