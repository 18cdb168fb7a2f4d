"""Does one visitor match a filter? Pure: the campaign engine asks on every page view.

The same semantics as the SQL compiler (sql.py), proved by the agreement test
(tests/unit/test_segment_agreement.py): random visitors, random filters, the
same members either way.

- A missing value (NULL) matches no comparison (eq, gt, within, ...), except
  ``ne`` and ``not_in``, which it matches ("source is not newsletter" includes
  visitors with no source), and ``is_not_set``.
- No conditions: every visitor matches.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from chat_server.services.segments.fields import ACTIVE_STATES, CONVERSATION_ACTIVE
from chat_server.services.segments.filter import Condition, Filter

Tags = set[tuple[str, str]] | frozenset[tuple[str, str]]


@dataclass(frozen=True)
class TraitsView:
    """What the evaluator reads of one visitor: the visitor_traits row."""

    visitor_id: str
    identified: bool = False
    visits: int = 0
    page_views: int = 0
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    first_source: str | None = None
    first_medium: str | None = None
    first_campaign: str | None = None
    first_referrer: str | None = None
    last_source: str | None = None
    last_medium: str | None = None
    last_campaign: str | None = None
    last_referrer: str | None = None
    device: str | None = None
    language: str | None = None
    conversions: int = 0
    conversion_value: float = 0.0
    csat_score: int | None = None
    nps_score: int | None = None
    consent: bool = False
    budget: float | None = None

    @classmethod
    def of(cls, row: Any) -> TraitsView:
        """From a VisitorTraits row (or anything with the same attributes)."""
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


def conversation_active(state: str, updated_at: datetime, now: datetime) -> bool:
    """Whether a conversation puts its visitor "in a conversation now" (sql.in_conversation)."""
    if state in ACTIVE_STATES:
        return True
    return state == "bot" and _utc(updated_at) >= now - CONVERSATION_ACTIVE


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _compare(op: str, have: Any, want: Any) -> bool:
    if op == "is_set":
        return have is not None
    if op == "is_not_set":
        return have is None
    if op == "ne":
        return have is None or have != want
    if op == "not_in":
        return have is None or have not in want
    if have is None:
        return False
    if op == "eq":
        return bool(have == want)
    if op == "in":
        return have in want
    if op == "gt":
        return bool(have > want)
    if op == "gte":
        return bool(have >= want)
    if op == "lt":
        return bool(have < want)
    if op == "lte":
        return bool(have <= want)
    if op == "starts_with":
        return isinstance(have, str) and have.startswith(want)
    raise ValueError(f"unknown operator {op}")


def holds(
    condition: Condition,
    traits: TraitsView,
    tags: Tags,
    in_conversation: bool,
    now: datetime,
) -> bool:
    """Whether one condition holds for this visitor."""
    spec = condition.spec
    op, want = condition.op, condition.value
    if spec.dynamic == "in_conversation":
        return in_conversation is want
    if spec.tag is not None:
        if op == "has":
            return (spec.tag, want) in tags
        if op == "not_has":
            return (spec.tag, want) not in tags
        return any((spec.tag, v) in tags for v in want)  # has_any
    have = getattr(traits, spec.column or "")
    if spec.derive == "positive":
        return (have is not None and have > 0) is want
    if spec.derive == "set":
        return (have is not None) is want
    if spec.type == "bool":
        return bool(have) is want
    if spec.type == "days_ago":
        if have is None:
            return False
        since = now - timedelta(days=want)
        return _utc(have) >= since if op == "within" else _utc(have) < since
    return _compare(op, have, want)


def matches(
    filter: Filter,
    traits: TraitsView,
    tags: Tags,
    in_conversation: bool,
    now: datetime,
) -> bool:
    """Whether the visitor is in the segment ``filter`` describes."""
    if not filter.conditions:
        return True
    results = (holds(c, traits, tags, in_conversation, now) for c in filter.conditions)
    return all(results) if filter.match == "all" else any(results)
