"""Campaigns: create, list, edit, start, pause, end, archive, new versions (docs/campaigns.md).

Every change is validated as a whole before anything is written, and written
in one transaction with its ``campaign_changed`` interaction event (the audit
trail): nothing is stored half-way. A campaign that has run keeps its
experiment (variants' keys and weights, holdout, goal, kind): a change to
those is a new version (``new_version``), so results never mix two designs.
"""

from __future__ import annotations

import contextlib
import copy as deep
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server import errors
from chat_server.db import event_queries, paging
from chat_server.db.engagement_models import Campaign, Segment
from chat_server.db.models import Agent, utcnow
from chat_server.services.campaigns.rules import (
    CampaignDraft,
    RuleErrors,
    parse_draft,
    schedule_errors,
)

STATUSES = ("draft", "scheduled", "running", "paused", "ended", "archived")
# Statuses in which the campaign has been (or is about to be) live.
LIVE = ("scheduled", "running", "paused")
# What may change on a campaign that has started (the rest is the experiment's design).
LIVE_EDITABLE = frozenset({"name", "priority", "rules", "variants"})
DRAFT_FIELDS = (
    "name", "kind", "priority", "rules", "variants", "holdout", "goal",
    "per_visitor_cap", "cooldown_hours", "agent_id",
)  # fmt: skip
ORDERING = paging.Ordering("campaigns", "int", True, key=Campaign.id, tiebreak=Campaign.id)
CHANGED = "campaign_changed"


class CampaignInvalid(errors.Invalid):
    """The campaign does not validate; ``fields`` has one message per field."""

    code = "invalid_campaign"


class CampaignConflict(errors.Conflict):
    """The campaign's status does not allow this change."""

    code = "campaign_conflict"


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; they were stored in UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    aware = _aware(value)
    return aware.isoformat() if aware is not None else None


def campaign_json(c: Campaign) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "status": c.status,
        "kind": c.kind,
        "priority": c.priority,
        "rules": c.rules,
        "variants": c.variants,
        "holdout": c.holdout,
        "goal": c.goal,
        "segment_id": c.segment_id,
        "agent_id": c.agent_id,
        "starts_at": _iso(c.starts_at),
        "ends_at": _iso(c.ends_at),
        "per_visitor_cap": c.per_visitor_cap,
        "cooldown_hours": c.cooldown_hours,
        "version": c.version,
        "parent_id": c.parent_id,
        "created_by": c.created_by,
        "created_at": _iso(c.created_at),
        "updated_at": _iso(c.updated_at),
        "started_at": _iso(c.started_at),
        "ended_at": _iso(c.ended_at),
    }


def campaign_brief(c: Campaign) -> dict[str, Any]:
    """What an agent may read: which campaign and variants opened a conversation."""
    keys = [v.get("key") for v in c.variants]
    return {"id": c.id, "name": c.name, "kind": c.kind, "version": c.version, "variants": keys}


def draft_of(c: Campaign) -> dict[str, Any]:
    """The stored campaign as the body that would create it."""
    return {name: deep.deepcopy(getattr(c, name)) for name in DRAFT_FIELDS}


def _design(data: dict[str, Any]) -> dict[str, Any]:
    """What an experiment is made of: arms, shares, goal, kind (never changes once run)."""
    return {
        "arms": [(v.get("key"), v.get("weight")) for v in data.get("variants") or []],
        "holdout": data.get("holdout"),
        "goal": data.get("goal"),
        "kind": data.get("kind"),
        "agent_id": data.get("agent_id"),
        "per_visitor_cap": data.get("per_visitor_cap"),
        "cooldown_hours": data.get("cooldown_hours"),
    }


class CampaignService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        goals: frozenset[str],
        clock: Callable[[], datetime] = utcnow,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._goals = goals
        self._now = clock
        # This node's CampaignCache.invalidate: a change is live here at once
        # (other nodes see it within CAMPAIGN_REFRESH_SECONDS).
        self._on_change = on_change

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that may change what runs; the cache reloads once it commits."""
        async with self._sessions.begin() as session:
            yield session
        self._on_change()

    # -- validation -----------------------------------------------------------

    async def _check(self, session: AsyncSession, data: Any) -> CampaignDraft:
        """The draft, or CampaignInvalid with every message (rules, then the database)."""
        try:
            draft = parse_draft(data, self._goals)
        except RuleErrors as exc:
            raise CampaignInvalid(_summary(exc.errors), exc.errors) from None
        found: list[dict[str, str]] = []
        segment_id = draft.rules.segment_id
        if segment_id is not None:
            segment = await session.get(Segment, segment_id)
            if segment is None:
                found.append({"field": "rules.segment_id", "message": f"no segment {segment_id}"})
            elif segment.archived_at is not None:
                message = f"segment {segment_id} ({segment.name}) is archived"
                found.append({"field": "rules.segment_id", "message": message})
        if draft.agent_id is not None:
            agent = await session.get(Agent, draft.agent_id)
            if agent is None or agent.deactivated_at is not None:
                message = f"no active agent {draft.agent_id}"
                found.append({"field": "agent_id", "message": message})
            elif agent.role == "marketer":
                found.append({"field": "agent_id", "message": "marketers do not take chats"})
        # An end already past: the campaign could never run (checked at every write).
        found.extend(schedule_errors(draft.rules, self._now()))
        if found:
            raise CampaignInvalid(_summary(found), found)
        return draft

    async def validate(self, data: Any) -> list[dict[str, str]]:
        """Field-level messages for ``data`` ([] when it would be accepted now)."""
        async with self._sessions() as session:
            try:
                await self._check(session, data)
            except CampaignInvalid as exc:
                return exc.fields
        return []

    # -- reading --------------------------------------------------------------

    async def list(
        self, status: str | None, limit: int, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of campaigns, newest first. Raises paging.BadCursor."""
        if status is not None and status not in STATUSES:
            raise errors.Invalid(f"status must be one of {', '.join(STATUSES)}")
        query = select(Campaign)
        if status is not None:
            query = query.where(Campaign.status == status)
        async with self._sessions() as session:
            rows = list(await session.scalars(ORDERING.apply(query, limit, cursor)))
        shown, next_cursor = ORDERING.page(rows, limit, lambda c: (c.id, c.id))
        return [campaign_json(c) for c in shown], next_cursor

    async def get(self, campaign_id: int) -> dict[str, Any]:
        async with self._sessions() as session:
            return campaign_json(await _found(session, campaign_id))

    async def brief(self, campaign_id: int) -> dict[str, Any]:
        async with self._sessions() as session:
            return campaign_brief(await _found(session, campaign_id))

    # -- writing --------------------------------------------------------------

    async def create(self, data: Any, by: int | None) -> dict[str, Any]:
        async with self._sessions.begin() as session:
            draft = await self._check(session, data)
            now = self._now()
            campaign = Campaign(status="draft", version=1, created_by=by, created_at=now)
            _apply(campaign, draft, self._now())
            session.add(campaign)
            await session.flush()
            await _log(session, campaign, "created", by)
            return campaign_json(campaign)

    async def update(
        self, campaign_id: int, patch: dict[str, Any], by: int | None
    ) -> dict[str, Any]:
        """Change a campaign; once it has started, only its name, priority, rules and texts."""
        if not isinstance(patch, dict) or not patch:
            raise errors.Invalid("send the fields to change as a JSON object")
        async with self._write() as session:
            campaign = await _found(session, campaign_id, lock=True)
            current = draft_of(campaign)
            merged = {**current, **patch}
            if campaign.status in ("ended", "archived"):
                raise CampaignConflict(
                    f"campaign {campaign_id} is {campaign.status}: "
                    "create a new version to change it"
                )
            if campaign.status != "draft":
                fixed = sorted(set(patch) - LIVE_EDITABLE)
                if fixed or _design(merged) != _design(current):
                    what = ", ".join(fixed) if fixed else "variants' keys or weights"
                    raise CampaignConflict(
                        f"campaign {campaign_id} has run: its experiment ({what}) cannot change; "
                        f"create a new version (POST /api/campaigns/{campaign_id}/versions)"
                    )
            draft = await self._check(session, merged)
            _apply(campaign, draft, self._now())
            await _log(session, campaign, "updated", by, fields=sorted(patch))
            return campaign_json(campaign)

    async def start(self, campaign_id: int, by: int | None) -> dict[str, Any]:
        """Draft or paused → running (or scheduled, when it starts later); ends its parent."""
        now = self._now()
        async with self._write() as session:
            campaign = await _found(session, campaign_id, lock=True)
            if campaign.status not in ("draft", "paused", "scheduled"):
                raise CampaignConflict(f"campaign {campaign_id} is {campaign.status}: cannot start")
            draft = await self._check(session, draft_of(campaign))
            starts_at = draft.rules.starts_at
            before = campaign.status
            campaign.status = (
                "scheduled" if starts_at is not None and starts_at > now else "running"
            )
            if campaign.started_at is None:
                campaign.started_at = now
            campaign.updated_at = now
            await _log(session, campaign, "started", by, before=before)
            if campaign.parent_id is not None:
                parent = await _found(session, campaign.parent_id, lock=True)
                if parent.status in LIVE:
                    await self._finish(session, parent, "ended", by, reason="replaced")
            return campaign_json(campaign)

    async def pause(self, campaign_id: int, by: int | None) -> dict[str, Any]:
        async with self._write() as session:
            campaign = await _found(session, campaign_id, lock=True)
            if campaign.status not in ("running", "scheduled"):
                raise CampaignConflict(f"campaign {campaign_id} is {campaign.status}: cannot pause")
            before, campaign.status, campaign.updated_at = campaign.status, "paused", self._now()
            await _log(session, campaign, "paused", by, before=before)
            return campaign_json(campaign)

    async def end(self, campaign_id: int, by: int | None) -> dict[str, Any]:
        async with self._write() as session:
            campaign = await _found(session, campaign_id, lock=True)
            if campaign.status not in LIVE:
                raise CampaignConflict(f"campaign {campaign_id} is {campaign.status}: cannot end")
            await self._finish(session, campaign, "ended", by)
            return campaign_json(campaign)

    async def archive(self, campaign_id: int, by: int | None) -> dict[str, Any]:
        """Hide a campaign from the lists; one still live is ended first. Results stay readable."""
        async with self._write() as session:
            campaign = await _found(session, campaign_id, lock=True)
            if campaign.status == "archived":
                raise CampaignConflict(f"campaign {campaign_id} is already archived")
            await self._finish(session, campaign, "archived", by)
            return campaign_json(campaign)

    async def delete(self, campaign_id: int, by: int | None) -> None:
        """Delete a draft that never ran; anything else is archived instead."""
        async with self._write() as session:
            campaign = await _found(session, campaign_id, lock=True)
            if campaign.status != "draft" or campaign.started_at is not None:
                raise CampaignConflict(
                    f"campaign {campaign_id} is {campaign.status}: only a draft that never ran "
                    "can be deleted; archive it instead "
                    f"(POST /api/campaigns/{campaign_id}/archive)"
                )
            await _log(session, campaign, "deleted", by)
            await session.delete(campaign)

    async def new_version(self, campaign_id: int, by: int | None) -> dict[str, Any]:
        """A new draft copying the campaign (version + 1, parent_id); starting it ends the old."""
        async with self._sessions.begin() as session:
            source = await _found(session, campaign_id, lock=True)
            copy = Campaign(
                **draft_of(source),
                status="draft",
                segment_id=source.segment_id,
                starts_at=source.starts_at,
                ends_at=source.ends_at,
                version=source.version + 1,
                parent_id=source.id,
                created_by=by,
                created_at=self._now(),
                updated_at=self._now(),
            )
            session.add(copy)
            await session.flush()
            await _log(session, copy, "versioned", by, parent_id=source.id)
            return campaign_json(copy)

    async def advance(self, by: int | None = None) -> tuple[int, ...]:
        """Apply the calendar: scheduled campaigns whose start has come run; live ones
        whose end has passed end. Returns the ids changed (the engine calls this
        periodically; ``matching`` also checks the dates on every page view)."""
        now = self._now()
        changed: tuple[int, ...] = ()
        async with self._write() as session:
            rows = await session.scalars(
                select(Campaign).where(Campaign.status.in_(LIVE)).with_for_update()
            )
            for campaign in rows:
                ends, starts = _aware(campaign.ends_at), _aware(campaign.starts_at)
                if ends is not None and ends <= now:
                    await self._finish(session, campaign, "ended", by, reason="ends_at")
                elif campaign.status == "scheduled" and (starts is None or starts <= now):
                    campaign.status, campaign.updated_at = "running", now
                    await _log(session, campaign, "started", by, before="scheduled")
                else:
                    continue
                changed += (campaign.id,)
        return changed

    async def _finish(
        self, session: AsyncSession, campaign: Campaign, status: str, by: int | None, **data: Any
    ) -> None:
        now = self._now()
        before = campaign.status
        campaign.status = status
        if before in LIVE and campaign.ended_at is None:
            campaign.ended_at = now
        campaign.updated_at = now
        await _log(session, campaign, status, by, before=before, **data)


def _summary(found: list[dict[str, str]]) -> str:
    first = found[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return f"{first['field']}: {first['message']}{more}"


async def _found(session: AsyncSession, campaign_id: int, lock: bool = False) -> Campaign:
    query = select(Campaign).where(Campaign.id == campaign_id)
    if lock:
        query = query.with_for_update()
    campaign = await session.scalar(query)
    if campaign is None:
        raise errors.NotFound(f"no campaign {campaign_id}")
    return campaign


def _apply(campaign: Campaign, draft: CampaignDraft, now: datetime) -> None:
    """Copy a validated draft into the row (the dates and segment also into their columns)."""
    campaign.name = draft.name
    campaign.kind = draft.kind
    campaign.priority = draft.priority
    campaign.rules = draft.rules.model_dump(mode="json", exclude_defaults=True)
    campaign.variants = [v.model_dump(mode="json", exclude_defaults=True) for v in draft.variants]
    campaign.holdout = draft.holdout
    campaign.goal = draft.goal.model_dump(mode="json", exclude_none=True)
    campaign.segment_id = draft.rules.segment_id
    campaign.agent_id = draft.agent_id
    campaign.starts_at = draft.rules.starts_at
    campaign.ends_at = draft.rules.ends_at
    campaign.per_visitor_cap = draft.per_visitor_cap
    campaign.cooldown_hours = draft.cooldown_hours
    campaign.updated_at = now


async def _log(
    session: AsyncSession, campaign: Campaign, action: str, by: int | None, **extra: Any
) -> None:
    data = {
        "campaign_id": campaign.id,
        "version": campaign.version,
        "arm": None,
        "action": action,
        "status": campaign.status,
        "by": by,
        **extra,
    }
    await event_queries.log_event(session, CHANGED, None, data=data)
