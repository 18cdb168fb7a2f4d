"""Models for proactive engagement: visitor traits, segments, campaigns, experiments.

Kept apart from models.py (the chat's own tables) so each file stays one
concept; both share ``Base`` and the schema is owned by Alembic (0016).
docs/campaigns.md and docs/experiments.md describe what the rows mean.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from chat_server.db.models import Base, utcnow


class VisitorTraits(Base):
    """What segments filter on, one row per visitor id that has been seen.

    A summary of the interaction log kept up to date as events arrive, so a
    segment counts with indexed queries instead of scanning events.
    """

    __tablename__ = "visitor_traits"

    visitor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    identified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    visits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    page_views: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the current visit began (a gap of VISIT_GAP_MINUTES starts a new one).
    visit_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_source: Mapped[str | None] = mapped_column(String(100))
    first_medium: Mapped[str | None] = mapped_column(String(100))
    first_campaign: Mapped[str | None] = mapped_column(String(100))
    first_referrer: Mapped[str | None] = mapped_column(String(255))
    last_source: Mapped[str | None] = mapped_column(String(100))
    last_medium: Mapped[str | None] = mapped_column(String(100))
    last_campaign: Mapped[str | None] = mapped_column(String(100))
    last_referrer: Mapped[str | None] = mapped_column(String(255))
    # desktop | mobile | tablet
    device: Mapped[str | None] = mapped_column(String(10))
    # The browser's language tag, lower case ("en", "pt-br").
    language: Mapped[str | None] = mapped_column(String(16))
    conversions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    conversion_value: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    csat_score: Mapped[int | None] = mapped_column(Integer)
    nps_score: Mapped[int | None] = mapped_column(Integer)
    consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    budget: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        Index("ix_visitor_traits_last_seen", "last_seen_at"),
        Index("ix_visitor_traits_first_seen", "first_seen_at"),
        Index("ix_visitor_traits_visits", "visits"),
        Index("ix_visitor_traits_identified", "identified"),
        Index("ix_visitor_traits_device", "device"),
        Index("ix_visitor_traits_language", "language"),
        Index("ix_visitor_traits_first_source", "first_source"),
        Index("ix_visitor_traits_last_source", "last_source"),
        Index("ix_visitor_traits_conversions", "conversions"),
    )


class VisitorTag(Base):
    """A many-valued trait: an interest, a converted goal, a product category."""

    __tablename__ = "visitor_tags"

    visitor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # interest | goal | category
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)

    __table_args__ = (Index("ix_visitor_tags_kind_value", "kind", "value"),)


class Segment(Base):
    """A saved, named filter over visitor traits (services/segments/)."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    filter: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column()


class Campaign(Base):
    """Who to address, when, with what, and the experiment around it.

    ``status``: draft | scheduled | running | paused | ended | archived. A
    campaign that has run never changes its allocation (variants, holdout):
    a change is a new version (``parent_id`` names the one it replaces).
    """

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    # Higher goes first when several campaigns match one visitor.
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # bot | agent | nps
    kind: Mapped[str] = mapped_column(String(10), default="bot")
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # [{"key": "A", "weight": 0.5, "content": {...}}, ...]
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The share held out as control ("would have shown", never shown).
    holdout: Mapped[float] = mapped_column(Float, default=0.1, server_default="0.1")
    # {"type": "conversion"|"reply"|"handoff"|"csat"|"nps", "name"?: goal, "window_hours": int}
    goal: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="RESTRICT"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    starts_at: Mapped[datetime | None] = mapped_column()
    ends_at: Mapped[datetime | None] = mapped_column()
    per_visitor_cap: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    cooldown_hours: Mapped[int] = mapped_column(Integer, default=72, server_default="72")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_campaigns_status_priority", "status", "priority"),)


class CampaignAssignment(Base):
    """The arm a unit (visitor) was assigned to, and when it was first exposed."""

    __tablename__ = "campaign_assignments"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    unit: Mapped[str] = mapped_column(String(64), primary_key=True)
    arm: Mapped[str] = mapped_column(String(32))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_exposed_at: Mapped[datetime | None] = mapped_column()
    exposures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (Index("ix_campaign_assignments_arm", "campaign_id", "arm"),)


class EngagementState(Base):
    """One unit's manners state: what it was shown lately and what it dismissed.

    Updated with compare-and-set on ``version``, so two tabs or two nodes can
    never both show a campaign past a cap.
    """

    __tablename__ = "engagement_state"

    unit: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # [{"campaign_id": 1, "at": iso}, ...] within the longest cap window.
    shown: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    visit_started_at: Mapped[datetime | None] = mapped_column()
    # {"<campaign_id>": iso} of the last dismiss per campaign.
    dismissed: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_dismiss_at: Mapped[datetime | None] = mapped_column()
    # The visitor typed in the open chat (set at most every few seconds, cleared
    # when they stop); read by decisions, never part of the version.
    typing_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
