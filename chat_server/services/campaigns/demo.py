"""The demo campaign `make run` starts with (DEMO_CAMPAIGN=true; dev/devstack.py).

A newcomer opening the demo store sees a proactive opener within a minute:
a running bot campaign on the store page after 10 seconds on it, two
variants of the opener and a 10 % holdout, its goal a purchase within 72
hours. Created once, when no campaign exists yet (a campaign the team made,
or this one edited, is never touched).
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db.engagement_models import Campaign
from chat_server.db.models import utcnow

log = logging.getLogger(__name__)

DEMO_NAME = "Demo: help on the store page"
DEMO_RULES = {"url_include": ["/", "/index.html"], "active_seconds": 10}
DEMO_VARIANTS = [
    {
        "key": "HELP",
        "weight": 0.5,
        "content": {
            "text": "Hi! Looking for something in particular? I can help you find it.",
            "quick_replies": ["Yes, please", "Just browsing"],
            "followup": "Great! Tell me what you are looking for, or pick a category.",
        },
    },
    {
        "key": "PICKS",
        "weight": 0.5,
        "content": {
            "text": "Hello! Here are a few of our most popular products right now.",
            "products": True,
            "followup": "Want more like these? Tell me your budget or a colour.",
        },
    },
]


async def seed_demo_campaign(sessionmaker: async_sessionmaker[AsyncSession]) -> int | None:
    """Create and start the demo campaign unless any campaign exists; its id, if created."""
    async with sessionmaker.begin() as session:
        if await session.scalar(select(func.count(Campaign.id))):
            return None
        now = utcnow()
        campaign = Campaign(
            name=DEMO_NAME,
            status="running",
            priority=0,
            kind="bot",
            rules=DEMO_RULES,
            variants=DEMO_VARIANTS,
            holdout=0.1,
            goal={"type": "conversion", "name": "purchase", "window_hours": 72},
            per_visitor_cap=1,
            cooldown_hours=24,
            version=1,
            created_at=now,
            updated_at=now,
            started_at=now,
        )
        session.add(campaign)
        await session.flush()
        log.info("demo campaign %s created and running (DEMO_CAMPAIGN)", campaign.id)
        return campaign.id
