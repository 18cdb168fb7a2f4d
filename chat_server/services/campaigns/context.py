"""What the engine knows of a visitor when a rule or manners decide (reads only).

``page_context`` builds campcore's ``matching.PageContext`` from the
visitor's traits row (visitor_traits, kept by the segments helper's upkeep;
a visitor without one is a first-time visitor with nothing known), the
support hours and, only when a running campaign asks for it, agent capacity.
``visit_started`` says when the current visit began for manners.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db.engagement_models import VisitorTraits
from chat_server.db.models import as_utc
from chat_server.services.campaigns.matching import PageContext

# A visit ends after this long without activity (as the traits upkeep counts visits).
VISIT_GAP = timedelta(minutes=30)


def _utm(url: str, key: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get(key)
    return values[0][:100] if values else None


async def page_context(
    session: AsyncSession,
    visitor_id: str,
    url: str,
    now: datetime,
    hours_open: bool,
    agent_capacity: Callable[[], Awaitable[bool]] | None,
    in_segment: bool | None = None,
) -> PageContext:
    traits = await session.get(VisitorTraits, visitor_id)
    capacity = await agent_capacity() if agent_capacity is not None else False
    if traits is None:
        return PageContext(
            url=url,
            now=now,
            utm_source=_utm(url, "utm_source"),
            utm_medium=_utm(url, "utm_medium"),
            utm_campaign=_utm(url, "utm_campaign"),
            hours_open=hours_open,
            agent_capacity=capacity,
            in_segment=in_segment,
        )
    first_seen = as_utc(traits.first_seen_at)
    visit_started = as_utc(traits.visit_started_at)
    returning = first_seen < visit_started - VISIT_GAP or traits.visits > 1
    return PageContext(
        url=url,
        now=now,
        visits=max(1, traits.visits),
        returning=returning,
        days_since_last_visit=None
        if not returning
        else max(0.0, (now - as_utc(traits.last_seen_at)).total_seconds() / 86400),
        utm_source=_utm(url, "utm_source") or traits.last_source,
        utm_medium=_utm(url, "utm_medium") or traits.last_medium,
        utm_campaign=_utm(url, "utm_campaign") or traits.last_campaign,
        referrer_host=traits.last_referrer,
        device=traits.device,
        language=traits.language,
        hours_open=hours_open,
        agent_capacity=capacity,
        in_segment=in_segment,
    )


def visit_started(
    traits_visit_start: datetime | None,
    state_visit_start: datetime | None,
    last_activity: datetime | None,
    now: datetime,
) -> datetime:
    """When the current visit began: the traits' count when kept, else the manners
    state's own (a gap of VISIT_GAP since its last change starts a new visit)."""
    if traits_visit_start is not None:
        return as_utc(traits_visit_start)
    if state_visit_start is None or last_activity is None:
        return now
    if now - as_utc(last_activity) > VISIT_GAP:
        return now
    return as_utc(state_visit_start)
