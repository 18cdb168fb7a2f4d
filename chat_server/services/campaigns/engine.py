"""The campaign engine: page view → watch → ready (or site trigger) → assigned, exposed, shown.

1. ``page_view``: the running campaigns (cache.py, in memory on every node)
   whose server-side rules match this page, by priority; the first one not
   refused by manners is offered as a ``campaign_watch`` with a signed token
   (tokens.py) and the on-page condition the widget watches.
2. ``ready`` (the condition held) or ``site_trigger`` (``Rapport.trigger``):
   the token is checked, the rules again, then manners claim the slot with a
   compare-and-set on engagement_state (claims.py: two tabs or nodes never
   both pass a cap). The arm comes from a hash of the experiment and the unit
   (the stored assignment wins when there is one). The opener is prepared
   for the arm *before anything is logged* (opener.py): Rasa down means no
   exposure for any arm, and the claim is released.
3. One transaction logs ``campaign_eligible``, ``campaign_assigned`` (first
   time), ``campaign_exposed`` (``shown`` false for control: "would have
   shown"), stores the treatment's opener in a new conversation and logs
   ``campaign_shown``; then the opener is delivered and ``campaign_shown`` is
   emitted to the visitor's Rapport widgets.

Every event's data carries campaign_id, version and arm (the contract).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server import metrics
from chat_server.db import conversation_queries, event_queries
from chat_server.db.engagement_models import CampaignAssignment, VisitorTraits
from chat_server.db.models import Conversation, utcnow
from chat_server.errors import Invalid, NotFound
from chat_server.protocol import visitor as protocol
from chat_server.services.campaigns import credit, manners, matching
from chat_server.services.campaigns.cache import CampaignCache, LiveCampaign
from chat_server.services.campaigns.claims import Claims
from chat_server.services.campaigns.context import page_context
from chat_server.services.campaigns.opener import (
    AGENT,
    NPS,
    Openers,
    OpenerUnavailable,
    Prepared,
)
from chat_server.services.campaigns.store import MannersStore
from chat_server.services.campaigns.tokens import WatchTokens
from chat_server.services.experiments import assignment
from chat_server.services.notifier import Notifier

log = logging.getLogger(__name__)

PROMOTER, PASSIVE, DETRACTOR = "promoter", "passive", "detractor"
# The visitor is talking with a person: no campaign over that.
HUMAN_STATES = ("queued", "assigned")

# (segment id, visitor id) -> whether the visitor is in the segment.
Membership = Callable[[int, str], Awaitable[bool]]


class UnknownCampaign(NotFound):
    """A ready/dismiss/answer for a campaign that is not running."""

    code = "unknown_campaign"


class NotShown(Invalid):
    """An NPS answer for a campaign the visitor was never asked."""

    code = "invalid_payload"


@dataclass(frozen=True)
class Watch:
    campaign_id: int
    token: str
    when: dict[str, Any]

    def as_event(self) -> dict[str, Any]:
        return {"campaign_id": self.campaign_id, "token": self.token, "when": self.when}


def nps_category(score: int) -> str:
    """Promoters 9-10, passives 7-8, detractors 0-6 (Reichheld 2003)."""
    if score >= 9:
        return PROMOTER
    return PASSIVE if score >= 7 else DETRACTOR


def experiment_key(campaign: LiveCampaign) -> str:
    return f"campaign:{campaign.id}:v{campaign.version}"


def arm_for(campaign: LiveCampaign, unit: str) -> str:
    """The unit's arm from a hash: the same on every node, every restart."""
    variants = [(str(v["key"]), float(v.get("weight", 1.0))) for v in campaign.variants]
    arms = assignment.allocation(campaign.holdout, variants)
    return assignment.choose_arm(arms, assignment.bucket(experiment_key(campaign), unit))


def event_data(campaign: LiveCampaign, arm: str, **more: Any) -> dict[str, Any]:
    return {"campaign_id": campaign.id, "version": campaign.version, "arm": arm, **more}


class CampaignEngine:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        openers: Openers,
        tokens: WatchTokens,
        store: MannersStore,
        caps: manners.Caps,
        cache: CampaignCache | None = None,
        membership: Membership | None = None,
    ) -> None:
        self._sessions = sessionmaker
        # Whether a visitor is in a segment (SegmentService.contains).
        self._membership = membership
        self._notifier = notifier
        self._openers = openers
        self._tokens = tokens
        self.cache = cache or CampaignCache(sessionmaker)
        self._claims = Claims(sessionmaker, store, caps)

    # -- page view -------------------------------------------------------

    async def page_view(self, visitor_id: str, url: str) -> Watch | None:
        """The campaign to watch for on this page, if any: the first running
        campaign (by priority) whose server-side rules hold for this visitor."""
        running = await self.cache.running()
        if not running:
            return None
        now = utcnow()
        async with self._sessions() as session:
            ctx = await self._context(session, visitor_id, url, running)
        for campaign in running:
            when = matching.watch_for(campaign.compiled)
            if set(when) == {"site_trigger"}:
                continue  # fired by Rapport.trigger alone: nothing to watch
            if matching.static_match(
                campaign.compiled, await self._in(campaign, ctx, visitor_id)
            ).ok:
                return Watch(
                    campaign.id, self._tokens.issue(campaign.id, visitor_id, now.timestamp()), when
                )
        return None

    async def _context(
        self,
        session: AsyncSession,
        visitor_id: str,
        url: str,
        campaigns: tuple[LiveCampaign, ...],
    ) -> matching.PageContext:
        needs_capacity = any(c.compiled.rules.require_agent_capacity for c in campaigns)
        return await page_context(
            session,
            visitor_id,
            url,
            utcnow(),
            self._openers.hours_open(),
            (lambda: self._openers.agent_capacity(session)) if needs_capacity else None,
        )

    async def _matches(self, visitor_id: str, campaign: LiveCampaign, url: str | None) -> bool:
        if url is None:
            return True  # the token says the rules held on the page it was issued for
        async with self._sessions() as session:
            ctx = await self._context(session, visitor_id, url, (campaign,))
        return matching.static_match(
            campaign.compiled, await self._in(campaign, ctx, visitor_id)
        ).ok

    async def _in(
        self, campaign: LiveCampaign, ctx: matching.PageContext, visitor_id: str
    ) -> matching.PageContext:
        """``ctx`` with the visitor's membership of the campaign's segment, if it has one
        (an archived or deleted segment holds nobody)."""
        segment_id = campaign.compiled.rules.segment_id
        if segment_id is None:
            return ctx
        member = False
        if self._membership is not None:
            try:
                member = await self._membership(segment_id, visitor_id)
            except NotFound:
                member = False
        return dataclasses.replace(ctx, in_segment=member)

    # -- firing ----------------------------------------------------------

    async def ready(
        self, visitor_id: str, campaign_id: int, token: str, url: str | None
    ) -> dict[str, Any] | None:
        """The widget says the watched condition holds: fire, if manners allow.

        Returns the ``campaign_shown`` payload for a treatment arm (also sent
        to every Rapport tab), None when nothing is shown (control, caps).
        """
        campaign = await self.cache.get(campaign_id)
        if campaign is None:
            raise UnknownCampaign(f"Campaign {campaign_id} is not running.")
        self._tokens.verify(token, campaign_id, visitor_id)
        if not await self._matches(visitor_id, campaign, url):
            return None
        return await self.fire(visitor_id, campaign, "ready")

    async def site_trigger(
        self, visitor_id: str, name: str, url: str | None
    ) -> dict[str, Any] | None:
        """``Rapport.trigger(name)``: fire the first campaign waiting for it alone.

        A campaign that also waits for a browser-side condition (time on page,
        scroll, exit intent, idle) is fired by the widget's ``campaign_ready``
        once the trigger and the rest hold together, not by the trigger here.
        """
        for campaign in await self.cache.running():
            if campaign.compiled.rules.site_trigger != name:
                continue
            if set(matching.watch_for(campaign.compiled)) != {"site_trigger"}:
                continue
            if await self._matches(visitor_id, campaign, url):
                return await self.fire(visitor_id, campaign, "site_trigger")
        return None

    async def fire(self, unit: str, campaign: LiveCampaign, trigger: str) -> dict[str, Any] | None:
        claimed_at = utcnow()
        refused = await self._claims.claim(unit, campaign, await self._talking_to_a_person(unit))
        if refused:
            metrics.CAMPAIGNS.labels(refused).inc()
            return None
        try:
            async with self._sessions() as session:
                arm = await self._stored_arm(session, campaign, unit) or arm_for(campaign, unit)
                ready = await self._openers.prepare(session, unit, campaign, arm)
        except OpenerUnavailable as exc:
            log.info("campaign %s not fired for %s: %s", campaign.id, unit, exc)
            metrics.CAMPAIGNS.labels("undeliverable").inc()
            await self._claims.release(unit, campaign.id, claimed_at)
            return None
        conversation, stored = await self._log_exposure(unit, campaign, ready, trigger)
        metrics.CAMPAIGNS.labels("shown" if ready.shown else "control").inc()
        if not ready.shown:
            return None
        if conversation is not None:
            await self._openers.deliver(unit, conversation, stored, ready)
        shown = {
            "campaign_id": campaign.id,
            "arm": ready.arm,
            "kind": ready.kind,
            "conversation_id": conversation.id if conversation else None,
            "message": _teaser_message(ready),
        }
        await self._notifier.to_rapport_visitor(unit, protocol.CAMPAIGN_SHOWN, shown)
        return shown

    async def _talking_to_a_person(self, unit: str) -> bool:
        async with self._sessions() as session:
            latest = await conversation_queries.latest_conversation(session, unit)
        return latest is not None and latest.state in HUMAN_STATES

    async def _stored_arm(
        self, session: AsyncSession, campaign: LiveCampaign, unit: str
    ) -> str | None:
        return await session.scalar(
            select(CampaignAssignment.arm).where(
                CampaignAssignment.campaign_id == campaign.id, CampaignAssignment.unit == unit
            )
        )

    async def _log_exposure(
        self, unit: str, campaign: LiveCampaign, ready: Prepared, trigger: str
    ) -> tuple[Conversation | None, list[Any]]:
        async with self._sessions.begin() as session:
            now = utcnow()
            new = await _assign(session, campaign, unit, ready.arm, now)
            row = await session.get(CampaignAssignment, (campaign.id, unit), populate_existing=True)
            if row is None:
                raise LookupError("the assignment vanished inside its transaction")
            arm = row.arm  # the first assignment wins (another node may have been first)
            first = row.first_exposed_at is None
            row.exposures += 1
            if first:
                row.first_exposed_at = now
            await event_queries.log_event(
                session, "campaign_eligible", unit, None, event_data(campaign, arm, trigger=trigger)
            )
            if new:
                await event_queries.log_event(
                    session, "campaign_assigned", unit, None, event_data(campaign, arm)
                )
            await event_queries.log_event(
                session,
                "campaign_exposed",
                unit,
                None,
                event_data(campaign, arm, shown=ready.shown, first=first, kind=ready.kind),
            )
            conversation, stored = await self._openers.store(session, unit, campaign, ready)
            if ready.shown:
                await event_queries.log_event(
                    session,
                    "campaign_shown",
                    unit,
                    conversation.id if conversation else None,
                    event_data(campaign, arm, kind=ready.kind),
                )
        return conversation, stored

    # -- the visitor's answers -------------------------------------------

    async def dismissed(self, visitor_id: str, campaign_id: int) -> None:
        campaign = await self._known(campaign_id)
        arm = await self._arm_of(visitor_id, campaign_id)
        await self._claims.dismissed(visitor_id, campaign_id)
        async with self._sessions.begin() as session:
            await event_queries.log_event(
                session,
                "campaign_dismissed",
                visitor_id,
                None,
                event_data(campaign, arm or "unknown"),
            )

    async def nps(self, visitor_id: str, campaign_id: int, score: int) -> str:
        """Record an NPS answer; its category. Once per visitor and campaign."""
        campaign = await self._known(campaign_id)
        if campaign.kind != NPS:
            raise NotShown("That campaign is not a survey.")
        async with self._sessions.begin() as session:
            row = await session.get(CampaignAssignment, (campaign_id, visitor_id))
            if row is None or row.first_exposed_at is None or row.arm == assignment.CONTROL:
                raise NotShown("That survey was not shown to you.")
            category = nps_category(score)
            await event_queries.log_event_once(
                session,
                "nps_submitted",
                visitor_id,
                f"nps:{campaign_id}:{visitor_id}",
                event_data(campaign, row.arm, score=score, category=category),
            )
            traits = await session.get(VisitorTraits, visitor_id)
            if traits is not None:
                traits.nps_score = score
            if category == PROMOTER:
                await credit.credit(
                    session, visitor_id, credit.NPS, campaign_id=campaign_id, score=score
                )
        await self._claims.answered(visitor_id, campaign_id)
        return category

    async def _known(self, campaign_id: int) -> LiveCampaign:
        campaign = await self.cache.get(campaign_id)
        if campaign is None:
            raise UnknownCampaign(f"Campaign {campaign_id} is not running.")
        return campaign

    async def _arm_of(self, unit: str, campaign_id: int) -> str | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(CampaignAssignment.arm).where(
                    CampaignAssignment.campaign_id == campaign_id, CampaignAssignment.unit == unit
                )
            )


def _teaser_message(ready: Prepared) -> dict[str, Any]:
    """What the teaser shows: the opener's first message (an agent's with their name),
    or the NPS question."""
    if not ready.outgoing:
        return {"text": ready.question, "nps": True}
    if ready.kind == AGENT:
        return {**ready.outgoing[0], "sender": {"type": "agent", "name": ready.agent_name}}
    return ready.outgoing[0]


async def _assign(
    session: AsyncSession, campaign: LiveCampaign, unit: str, arm: str, now: datetime
) -> bool:
    """Store the unit's arm unless it has one; True when this call stored it."""
    if await session.get(CampaignAssignment, (campaign.id, unit)) is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(
                CampaignAssignment(
                    campaign_id=campaign.id, unit=unit, arm=arm, assigned_at=now, exposures=0
                )
            )
    except IntegrityError:
        return False  # another tab or node assigned it a moment ago
    return True
