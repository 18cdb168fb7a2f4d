"""Goals reached after a campaign's exposure: ``campaign_replied`` and ``campaign_converted``.

Called inside the transaction that stores what happened (a conversion, the
visitor's message, a handoff, a rating), so a goal is credited exactly when
its cause is stored. A unit is credited once per campaign (the dedupe key
``campaign_converted:<campaign>:<unit>``), to the arm it was assigned, when
the goal is the campaign's and happened within ``goal.window_hours`` after
the unit's first exposure. Every arm is credited, control included: that is
what the treatment is compared with (intent to treat).

Goals (``campaigns.goal``): ``conversion`` (a named goal, Rapport.track or the
server-side conversion), ``reply`` (the visitor answered the opener),
``handoff`` (the campaign's conversation was queued for a person), ``csat``
(a rating of 4 or 5 of the campaign's conversation), ``nps`` (a promoter's
answer, 9 or 10).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db import event_queries
from chat_server.db.engagement_models import Campaign, CampaignAssignment
from chat_server.db.models import Conversation, as_utc, utcnow
from chat_server.services.campaigns import store

CONVERSION, REPLY, HANDOFF, CSAT, NPS = "conversion", "reply", "handoff", "csat", "nps"
DEFAULT_WINDOW_HOURS = 72


def within_window(goal: dict[str, Any], first_exposed_at: datetime, at: datetime) -> bool:
    """Whether ``at`` is inside the goal's attribution window after the first exposure."""
    hours = goal.get("window_hours") or DEFAULT_WINDOW_HOURS
    start = as_utc(first_exposed_at)
    return start <= as_utc(at) <= start + timedelta(hours=float(hours))


def goal_matches(goal: dict[str, Any], kind: str, name: str | None) -> bool:
    if goal.get("type") != kind:
        return False
    return kind != CONVERSION or goal.get("name") == name


async def credit(
    session: AsyncSession,
    unit: str,
    kind: str,
    name: str | None = None,
    at: datetime | None = None,
    campaign_id: int | None = None,
    **details: Any,
) -> list[int]:
    """Log ``campaign_converted`` for each campaign whose goal this is; their ids.

    ``campaign_id`` limits the credit to one campaign (a reply, a handoff or a
    rating of that campaign's own conversation).
    """
    at = at or utcnow()
    query = (
        select(CampaignAssignment, Campaign)
        .join(Campaign, Campaign.id == CampaignAssignment.campaign_id)
        .where(CampaignAssignment.unit == unit, CampaignAssignment.first_exposed_at.is_not(None))
    )
    if campaign_id is not None:
        query = query.where(Campaign.id == campaign_id)
    credited = []
    for assignment, campaign in await session.execute(query):
        goal = dict(campaign.goal or {})
        first = assignment.first_exposed_at
        if first is None or not goal_matches(goal, kind, name):
            continue
        if not within_window(goal, first, at):
            continue
        added = await event_queries.log_event_once(
            session,
            "campaign_converted",
            unit,
            f"campaign_converted:{campaign.id}:{unit}",
            {
                "campaign_id": campaign.id,
                "version": campaign.version,
                "arm": assignment.arm,
                "goal": kind,
                "name": name,
                "at": as_utc(at).isoformat(),
                "hours_after_exposure": round(
                    (as_utc(at) - as_utc(first)).total_seconds() / 3600, 3
                ),
                **details,
            },
        )
        if added:
            credited.append(campaign.id)
    return credited


async def visitor_replied(session: AsyncSession, conversation: Conversation) -> None:
    """The visitor wrote in a conversation a campaign opened: the first time, log
    ``campaign_replied`` (and credit a reply goal) and mark the opener
    answered. One cheap check otherwise."""
    if conversation.campaign_id is None:
        return
    campaign = await session.get(Campaign, conversation.campaign_id)
    if campaign is None:
        return
    added = await event_queries.log_event_once(
        session,
        "campaign_replied",
        conversation.visitor_id,
        f"campaign_replied:{conversation.id}",
        {
            "campaign_id": campaign.id,
            "version": campaign.version,
            "arm": conversation.campaign_arm,
        },
        conversation_id=conversation.id,
    )
    if added:
        await credit(session, conversation.visitor_id, REPLY, campaign_id=campaign.id)
        # Answered: the opener no longer holds other campaigns back (manners).
        await store.answer_in(session, conversation.visitor_id, campaign.id)


async def handed_over(session: AsyncSession, conversation: Conversation, to: str) -> None:
    """A campaign's conversation was queued for a person (a handoff goal)."""
    if conversation.campaign_id is not None and to == "queued":
        await credit(
            session, conversation.visitor_id, HANDOFF, campaign_id=conversation.campaign_id
        )


async def rated(session: AsyncSession, conversation: Conversation, score: int) -> None:
    """A campaign's conversation was rated; 4 or 5 reaches a csat goal."""
    if conversation.campaign_id is not None and score >= 4:
        await credit(
            session,
            conversation.visitor_id,
            CSAT,
            campaign_id=conversation.campaign_id,
            score=score,
        )
