"""Upkeep of ``visitor_traits`` and ``visitor_tags`` as events arrive.

Each function is one upsert (INSERT ... ON CONFLICT DO UPDATE, SQLite and
PostgreSQL alike) in the caller's transaction, so a trait changes exactly
when the event that changes it is stored. The services call them with one
line each: page views and conversions (tracking.py), CSAT (handoff.py),
consent (consent.py), a verified identity (visitor_sessions.py), the bot's
profile after a turn (bot_turns.py). The parsing of what a browser sends
(User-Agent, Accept-Language, referrer) is pure and unit tested.

Visitors seen before the upgrade to 0016 get a row with their next event, or
from ``python -m chat_server backfill-traits`` (backfill.py, docs/segments.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import case, func, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db.engagement_models import VisitorTag, VisitorTraits

MAX_TAG = 100
MAX_LABEL = 100
MAX_HOST = 255

# -- what the browser sends (pure) ----------------------------------------------

_TABLET = re.compile(r"iPad|Tablet|PlayBook|Silk|Kindle|Nexus (7|9|10)\b|SM-T\d", re.IGNORECASE)
_MOBILE = re.compile(
    r"Mobi|iPhone|iPod|Windows Phone|IEMobile|Opera Mini|BlackBerry|BB10|webOS", re.IGNORECASE
)
_LANGUAGE = re.compile(r"[a-z]{1,8}(-[a-z0-9]{1,8})*")


def device_class(user_agent: str | None) -> str | None:
    """desktop | mobile | tablet from a User-Agent header; None when there is none.

    Android without "Mobile" is a tablet (Google's guidance to manufacturers).
    iPadOS 13+ Safari sends a Mac's User-Agent by default: it counts as desktop.
    """
    if not user_agent or not user_agent.strip():
        return None
    if _TABLET.search(user_agent):
        return "tablet"
    if "Android" in user_agent and "Mobile" not in user_agent:
        return "tablet"
    if _MOBILE.search(user_agent) or "Android" in user_agent:
        return "mobile"
    return "desktop"


def browser_language(accept_language: str | None) -> str | None:
    """The first language tag of an Accept-Language header, lower case ("pt-br")."""
    if not accept_language:
        return None
    first = accept_language.split(",", 1)[0].split(";", 1)[0].strip().lower()
    if len(first) > 16 or not _LANGUAGE.fullmatch(first):
        return None  # "*", empty, or not a language tag
    return first


def referrer_host(referrer: str | None, page_url: str | None = None) -> str | None:
    """The host a visitor came from; None for none, a malformed one, or the site itself."""
    if not referrer:
        return None
    try:
        host = urlsplit(referrer).hostname
        page_host = urlsplit(page_url).hostname if page_url else None
    except ValueError:
        return None
    if not host or host == page_host:
        return None
    return host[:MAX_HOST]


def _label(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:MAX_LABEL]


# -- the upserts ---------------------------------------------------------------


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return pg_insert if dialect == "postgresql" else sqlite_insert


async def _upsert(
    session: AsyncSession,
    visitor_id: str,
    now: datetime,
    values: dict[str, Any],
    changes: Any,
) -> None:
    """Insert the visitor's row with ``values``, or apply ``changes(excluded)`` to it."""
    insert = _insert(session)
    statement = insert(VisitorTraits).values(
        visitor_id=visitor_id,
        first_seen_at=now,
        last_seen_at=now,
        visit_started_at=now,
        **values,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[VisitorTraits.visitor_id], set_=changes(statement.excluded)
        )
    )


async def add_tags(
    session: AsyncSession, visitor_id: str, kind: str, values: Iterable[Any]
) -> None:
    """Tag the visitor (tags accumulate; an existing one is left alone)."""
    await add_tags_of_kinds(session, visitor_id, {kind: values})


async def add_tags_of_kinds(
    session: AsyncSession, visitor_id: str, kinds: dict[str, Iterable[Any]]
) -> None:
    """``add_tags`` for several kinds at once, in one statement."""
    rows = [
        row
        for kind, values in kinds.items()
        for row in [
            {"visitor_id": visitor_id, "kind": kind, "value": label}
            for label in dict.fromkeys(
                v.lower() for v in (_label(value) for value in values) if v is not None
            )
        ][:50]
    ]
    if not rows:
        return
    insert = _insert(session)
    await session.execute(insert(VisitorTag).values(rows).on_conflict_do_nothing())


async def page_view(
    session: AsyncSession,
    visitor_id: str,
    now: datetime,
    visit_gap: timedelta,
    utm: dict[str, Any],
    referrer: str | None,
    device: str | None,
    language: str | None,
) -> None:
    """Count a page view: a new visit after ``visit_gap`` without one; the
    first visit's and the latest visit's UTM and referrer; device, language."""
    source, medium, campaign = (
        _label(utm.get("utm_source")),
        _label(utm.get("utm_medium")),
        _label(utm.get("utm_campaign")),
    )
    t = VisitorTraits
    new_visit = or_(t.last_seen_at < now - visit_gap, t.visits == 0)

    def latest(column: Any, given: Any) -> Any:
        # A new visit takes the landing page's value (none for a direct visit);
        # within a visit, a later page fills in what the landing page lacked.
        return case((new_visit, given), else_=func.coalesce(column, given))

    def first(column: Any, given: Any) -> Any:
        # The first page view sets the first visit's source, also on a row that
        # an identity, a conversion or consent created before any page view.
        return case((t.page_views == 0, given), else_=column)

    def changes(excluded: Any) -> dict[str, Any]:
        return {
            "first_source": first(t.first_source, excluded.first_source),
            "first_medium": first(t.first_medium, excluded.first_medium),
            "first_campaign": first(t.first_campaign, excluded.first_campaign),
            "first_referrer": first(t.first_referrer, excluded.first_referrer),
            "visits": t.visits + case((new_visit, 1), else_=0),
            "page_views": t.page_views + 1,
            "last_seen_at": now,
            "visit_started_at": case((new_visit, now), else_=t.visit_started_at),
            "last_source": latest(t.last_source, excluded.last_source),
            "last_medium": latest(t.last_medium, excluded.last_medium),
            "last_campaign": latest(t.last_campaign, excluded.last_campaign),
            "last_referrer": latest(t.last_referrer, excluded.last_referrer),
            "device": func.coalesce(excluded.device, t.device),
            "language": func.coalesce(excluded.language, t.language),
        }

    await _upsert(
        session,
        visitor_id,
        now,
        {
            "visits": 1,
            "page_views": 1,
            "first_source": source,
            "first_medium": medium,
            "first_campaign": campaign,
            "first_referrer": referrer,
            "last_source": source,
            "last_medium": medium,
            "last_campaign": campaign,
            "last_referrer": referrer,
            "device": device,
            "language": language,
        },
        changes,
    )


async def conversion(
    session: AsyncSession,
    visitor_id: str,
    now: datetime,
    goal: str,
    value: float,
    counted: bool = True,
) -> None:
    """A conversion: one more, its value, its goal (``counted`` False: a value correction)."""
    t = VisitorTraits
    await _upsert(
        session,
        visitor_id,
        now,
        {"conversions": 1 if counted else 0, "conversion_value": value},
        lambda _: {
            "conversions": t.conversions + (1 if counted else 0),
            "conversion_value": t.conversion_value + value,
        },
    )
    await add_tags(session, visitor_id, "goal", [goal])


async def set_traits(session: AsyncSession, visitor_id: str, now: datetime, **values: Any) -> None:
    """Set plain traits (csat_score, nps_score, consent, identified, budget)."""
    await _upsert(session, visitor_id, now, values, lambda excluded: values)


def budget_of(value: Any) -> float | None:
    """The bot's budget slot as a number (it may be text such as "300" or "$300")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        match = re.search(r"\d+(?:\.\d+)?", value.replace(",", ""))
        if match is None:
            return None
        number = float(match.group())
    else:
        return None
    return number if 0 <= number <= 1e12 else None


async def profile_sync(
    session: AsyncSession, visitor_id: str, now: datetime, slots: dict[str, Any]
) -> None:
    """After a bot turn: interests and the product category talked about as
    tags, the budget as a trait."""
    interests = slots.get("interests")
    await add_tags_of_kinds(
        session,
        visitor_id,
        {
            "interest": interests if isinstance(interests, list) else [],
            "category": [slots.get("product_category")],
        },
    )
    budget = budget_of(slots.get("budget"))
    if budget is not None:
        await set_traits(session, visitor_id, now, budget=budget)
