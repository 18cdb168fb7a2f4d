"""A campaign's experiment results: per-arm counts from storage, then stats.analyse.

Per arm (``control`` and each variant):
- ``assigned``: units with an assignment row (the engine stores it at the
  unit's first exposure, so assigned and exposed are equal today);
- ``exposed``: units whose trigger fired (control: "would have shown");
- ``conversions``: units credited with the campaign's goal within its window
  after their first exposure (``campaign_converted``, services/campaigns/credit.py).

Guardrails per arm: the dismiss rate (units that dismissed / exposed; 0 for
control, which is shown nothing), the campaign conversations' CSAT (mean and
count), and agent load (the campaign conversations handed to a person).

``series``: the cumulative counts at the end of each UTC day since the first
exposure, each with the uplift of every variant (``analyse`` on that day's
counts), for the results page's "uplift over time". The sequential mode's
intervals stay valid however often they are read; the fixed mode's only at
the planned sample size (docs/experiments.md).
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat_server.db.engagement_models import Campaign, CampaignAssignment
from chat_server.db.models import Conversation, InteractionEvent, as_utc
from chat_server.errors import NotFound
from chat_server.services.experiments import planning, stats
from chat_server.services.experiments.assignment import CONTROL, allocation
from chat_server.services.experiments.errors import ExperimentInputError
from chat_server.services.experiments.uplift import check_mode

# Days of series at most (a long campaign shows its latest days).
MAX_SERIES_DAYS = 120


def weights_of(campaign: Campaign) -> dict[str, float]:
    variants = [(str(v["key"]), float(v.get("weight", 1.0))) for v in campaign.variants or []]
    return dict(allocation(campaign.holdout, variants))


def analyse_counts(
    counts: dict[str, dict[str, int]], weights: dict[str, float], mode: str
) -> stats.Analysis | None:
    """``stats.analyse`` over the arms, or None when there is no control to compare with."""
    if weights.get(CONTROL, 0.0) <= 0.0:
        return None
    arms = [
        stats.ArmCounts(
            key=key,
            assigned=counts.get(key, {}).get("assigned", 0),
            exposed=counts.get(key, {}).get("exposed", 0),
            conversions=counts.get(key, {}).get("conversions", 0),
        )
        for key in weights
    ]
    try:
        return stats.analyse(arms, CONTROL, check_mode(mode), weights=weights)
    except ExperimentInputError:
        return None


class CampaignResults:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessionmaker

    async def results(self, campaign_id: int, mode: str = "sequential") -> dict[str, Any]:
        mode = check_mode(mode)
        async with self._sessions() as session:
            campaign = await session.get(Campaign, campaign_id)
            if campaign is None:
                raise NotFound(f"no campaign {campaign_id}")
            exposures = await _exposures(session, campaign_id)
            converted = await _events(session, "campaign_converted", campaign_id)
            dismissed = await _events(session, "campaign_dismissed", campaign_id)
            guard = await _conversation_guardrails(session, campaign_id)
        weights = weights_of(campaign)
        counts: dict[str, dict[str, int]] = {k: defaultdict(int) for k in weights}
        for arm, _unit, first in exposures:
            row = counts.setdefault(arm, defaultdict(int))
            row["assigned"] += 1
            row["exposed"] += first is not None
        for arm, _unit, _at in converted:
            counts.setdefault(arm, defaultdict(int))["conversions"] += 1
        dismissers: dict[str, set[str]] = defaultdict(set)
        for arm, unit, _at in dismissed:
            dismissers[arm].add(unit)
        arms = []
        for key in counts:
            row = counts[key]
            exposed = row["exposed"]
            arms.append(
                {
                    "key": key,
                    "weight": weights.get(key, 0.0),
                    "assigned": row["assigned"],
                    "exposed": exposed,
                    "conversions": row["conversions"],
                    "guardrails": {
                        "dismissed": len(dismissers[key]),
                        "dismiss_rate": len(dismissers[key]) / exposed if exposed else None,
                        **guard.get(key, {"csat_mean": None, "csat_count": 0, "handoffs": 0}),
                    },
                }
            )
        analysis = analyse_counts(counts, weights, mode)
        found: dict[str, Any] = finite(
            {
                "campaign_id": campaign.id,
                "name": campaign.name,
                "status": campaign.status,
                "version": campaign.version,
                "goal": campaign.goal,
                "mode": mode,
                "arms": arms,
                "analysis": asdict(analysis) if analysis is not None else None,
                "series": _series(exposures, converted, weights, mode),
            }
        )
        return found

    async def csv(self, campaign_id: int, mode: str = "sequential") -> str:
        """The per-arm table and each variant's comparison, one row per arm."""
        found = await self.results(campaign_id, mode)
        comparisons = {c["arm"]: c for c in (found["analysis"] or {}).get("comparisons", ())}
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "arm", "weight", "assigned", "exposed", "conversions", "rate",
                "absolute_uplift", "absolute_low", "absolute_high",
                "relative_uplift", "relative_low", "relative_high",
                "p_value", "adjusted_p_value", "dismiss_rate", "csat_mean", "handoffs",
            ]
        )  # fmt: skip
        for arm in found["arms"]:
            c = comparisons.get(arm["key"], {})
            absolute, relative = c.get("absolute") or {}, c.get("relative") or {}
            g = arm["guardrails"]
            writer.writerow(
                [
                    arm["key"], arm["weight"], arm["assigned"], arm["exposed"], arm["conversions"],
                    arm["conversions"] / arm["exposed"] if arm["exposed"] else "",
                    absolute.get("value", ""), absolute.get("low", ""), absolute.get("high", ""),
                    relative.get("value", ""), relative.get("low", ""), relative.get("high", ""),
                    c.get("p_value", ""), c.get("adjusted_p_value", ""),
                    "" if g["dismiss_rate"] is None else g["dismiss_rate"],
                    "" if g["csat_mean"] is None else g["csat_mean"], g["handoffs"],
                ]
            )  # fmt: skip
        return out.getvalue()


def plan(
    baseline: float,
    mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
    arms: int = 2,
    daily_visitors: float | None = None,
) -> dict[str, Any]:
    """Sample size and duration before launch (experiments/planning.py)."""
    planned: dict[str, Any] = finite(
        asdict(planning.plan(baseline, mde, alpha, power, arms, daily_visitors))
    )
    return planned


def finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such a number (an undefined estimate) becomes null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


Row = tuple[str, str, Any]  # (arm, unit, when)


async def _exposures(session: AsyncSession, campaign_id: int) -> list[Row]:
    rows = await session.execute(
        select(
            CampaignAssignment.arm, CampaignAssignment.unit, CampaignAssignment.first_exposed_at
        ).where(CampaignAssignment.campaign_id == campaign_id)
    )
    return [(arm, unit, at) for arm, unit, at in rows]


async def _events(session: AsyncSession, type_: str, campaign_id: int) -> list[Row]:
    """(arm, unit, created_at) of the campaign's events of one type.

    The campaign id is in the JSON data; the candidate rows are narrowed to the
    units assigned to this campaign first (indexed by visitor id).
    """
    units = select(CampaignAssignment.unit).where(CampaignAssignment.campaign_id == campaign_id)
    rows = await session.execute(
        select(InteractionEvent.visitor_id, InteractionEvent.data, InteractionEvent.created_at)
        .where(InteractionEvent.type == type_, InteractionEvent.visitor_id.in_(units))
        .order_by(InteractionEvent.id)
    )
    found = []
    for unit, data, at in rows:
        if isinstance(data, dict) and data.get("campaign_id") == campaign_id and unit:
            found.append((str(data.get("arm")), unit, at))
    return found


async def _conversation_guardrails(
    session: AsyncSession, campaign_id: int
) -> dict[str, dict[str, Any]]:
    """CSAT and handoffs of the conversations the campaign's openers started, by arm."""
    csat = await session.execute(
        select(Conversation.campaign_arm, func.avg(Conversation.csat_score), func.count())
        .where(Conversation.campaign_id == campaign_id, Conversation.csat_score.is_not(None))
        .group_by(Conversation.campaign_arm)
    )
    out: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"csat_mean": None, "csat_count": 0, "handoffs": 0}
    )
    for arm, mean, count in csat:
        out[str(arm)].update(csat_mean=float(mean), csat_count=int(count))
    handoffs = await session.execute(
        select(Conversation.campaign_arm, InteractionEvent.data)
        .join(InteractionEvent, InteractionEvent.conversation_id == Conversation.id)
        .where(
            Conversation.campaign_id == campaign_id,
            InteractionEvent.type == "handoff_transition",
        )
    )
    for arm, data in handoffs:
        if isinstance(data, dict) and data.get("to") == "queued":
            out[str(arm)]["handoffs"] += 1
    return dict(out)


def _series(
    exposures: list[Row], converted: list[Row], weights: dict[str, float], mode: str
) -> list[dict[str, Any]]:
    """Cumulative counts per arm at the end of each UTC day, with the day's uplift."""
    first_days = [as_utc(at).date() for _arm, _unit, at in exposures if at is not None]
    if not first_days:
        return []
    start, end = (
        min(first_days),
        max([*first_days, *(as_utc(at).date() for _a, _u, at in converted)]),
    )
    start = max(start, end - timedelta(days=MAX_SERIES_DAYS - 1))
    exposed_on: dict[tuple[str, date], int] = defaultdict(int)
    converted_on: dict[tuple[str, date], int] = defaultdict(int)
    for arm, _unit, at in exposures:
        if at is not None:
            exposed_on[(arm, max(start, as_utc(at).date()))] += 1
    for arm, _unit, at in converted:
        converted_on[(arm, max(start, as_utc(at).date()))] += 1
    totals: dict[str, dict[str, int]] = {
        k: {"assigned": 0, "exposed": 0, "conversions": 0} for k in weights
    }
    series = []
    day = start
    while day <= end:
        for arm, row in totals.items():
            row["exposed"] += exposed_on[(arm, day)]
            row["assigned"] = row["exposed"]
            row["conversions"] += converted_on[(arm, day)]
        analysis = analyse_counts(totals, weights, mode)
        series.append(
            {
                "date": day.isoformat(),
                "arms": {k: dict(v) for k, v in totals.items()},
                "comparisons": [
                    {
                        "arm": c.arm,
                        "absolute": asdict(c.absolute) if c.absolute else None,
                        "relative": asdict(c.relative) if c.relative else None,
                    }
                    for c in (analysis.comparisons if analysis else ())
                ],
            }
        )
        day += timedelta(days=1)
    return series
