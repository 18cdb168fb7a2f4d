"""Traits for visitors seen before the upgrade to 0016, from what was logged.

``python -m chat_server backfill-traits``: every visitor with interaction
events and no traits row yet has their page views and conversions replayed,
in order and at the times they happened, through the same upkeep the live
path uses (traits.py); then what other records hold is set: identified (a
verified customer id), the latest marketing consent and NPS answer, the
latest CSAT, and the bot profile's interests, category and budget. Device and
browser language were never logged: they stay unknown until the visitor's
next page view.

One transaction per visitor. A visitor who gains a traits row meanwhile (they
came back while it ran) is skipped, so running it twice, or beside live
traffic, counts nothing twice.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db.engagement_models import VisitorTraits
from chat_server.db.models import Conversation, InteractionEvent, Visitor, as_utc
from chat_server.services.consent import EVENT as CONSENT_EVENT
from chat_server.services.consent import MARKETING
from chat_server.services.segments import traits

BATCH = 200


async def backfill_traits(
    sessions: async_sessionmaker[AsyncSession], visit_gap: timedelta, batch: int = BATCH
) -> int:
    """Build the missing traits rows; returns how many visitors got one."""
    done, after = 0, ""
    while True:
        async with sessions() as session:
            found = list(
                await session.scalars(
                    select(InteractionEvent.visitor_id)
                    .where(
                        InteractionEvent.visitor_id.is_not(None),
                        InteractionEvent.visitor_id > after,
                        ~exists().where(VisitorTraits.visitor_id == InteractionEvent.visitor_id),
                    )
                    .distinct()
                    .order_by(InteractionEvent.visitor_id)
                    .limit(batch)
                )
            )
        ids = [i for i in found if i is not None]
        if not ids:
            return done
        for visitor_id in ids:
            async with sessions.begin() as session:
                done += await _replay(session, visitor_id, visit_gap)
            await asyncio.sleep(0)  # live traffic goes between visitors
        after = ids[-1]


async def _replay(session: AsyncSession, visitor_id: str, visit_gap: timedelta) -> int:
    if await session.get(VisitorTraits, visitor_id) is not None:
        return 0  # came back meanwhile: the live path keeps the row
    events = await session.scalars(
        select(InteractionEvent)
        .where(InteractionEvent.visitor_id == visitor_id)
        .order_by(InteractionEvent.id)
    )
    latest: dict[str, Any] = {}
    last_at = None
    for event in events:
        at, data = as_utc(event.created_at), event.data or {}
        last_at = at
        if event.type == "page_view":
            await traits.page_view(
                session,
                visitor_id,
                at,
                visit_gap,
                data,
                traits.referrer_host(data.get("referrer"), data.get("url")),
                None,
                None,
            )
        elif event.type == "conversion" and isinstance(data.get("value"), int | float):
            await traits.conversion(session, visitor_id, at, str(data["name"]), data["value"])
        elif event.type == CONSENT_EVENT and data.get("topic") == MARKETING:
            latest["consent"] = bool(data.get("granted"))
        elif event.type == "nps_submitted" and isinstance(data.get("score"), int):
            latest["nps_score"] = data["score"]
    if last_at is None:
        return 0  # erased meanwhile
    rated = await session.scalar(
        select(Conversation.csat_score)
        .where(Conversation.visitor_id == visitor_id, Conversation.csat_score.is_not(None))
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    if rated is not None:
        latest["csat_score"] = rated
    visitor = await session.get(Visitor, visitor_id)
    if visitor is not None and visitor.external_id is not None:
        latest["identified"] = True
    # With no page view or conversion these create the row (first seen: the last event).
    if latest:
        await traits.set_traits(session, visitor_id, last_at, **latest)
    if visitor is not None and visitor.profile:
        await traits.profile_sync(session, visitor_id, last_at, visitor.profile)
    return 1 if await session.get(VisitorTraits, visitor_id) is not None else 0
