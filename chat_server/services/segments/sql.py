"""A segment filter as a SQL WHERE clause over ``visitor_traits``.

Tag conditions are EXISTS subqueries on ``visitor_tags`` (index kind, value),
"in a conversation now" an EXISTS on ``conversations``. Every value is a bound
parameter. The semantics are the evaluator's (evaluate.py), NULLs included:
each condition compiles to an expression that is never NULL, so ``any`` and
``all`` combine them exactly as Python's ``any``/``all`` do.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, true

from chat_server.db.engagement_models import VisitorTag, VisitorTraits
from chat_server.db.models import Conversation
from chat_server.services.segments.fields import ACTIVE_STATES, CONVERSATION_ACTIVE
from chat_server.services.segments.filter import Condition, Filter


def in_conversation(now: datetime) -> ColumnElement[bool]:
    """The visitor has a conversation that is queued, assigned, or a bot
    conversation with activity in the last CONVERSATION_ACTIVE."""
    return exists().where(
        Conversation.visitor_id == VisitorTraits.visitor_id,
        or_(
            Conversation.state.in_(ACTIVE_STATES),
            and_(
                Conversation.state == "bot",
                Conversation.updated_at >= now - CONVERSATION_ACTIVE,
            ),
        ),
    )


def _tag(kind: str, values: tuple[str, ...]) -> ColumnElement[bool]:
    value = VisitorTag.value == values[0] if len(values) == 1 else VisitorTag.value.in_(values)
    return exists().where(
        VisitorTag.visitor_id == VisitorTraits.visitor_id, VisitorTag.kind == kind, value
    )


def _compare(column: Any, op: str, want: Any) -> ColumnElement[bool]:
    if op == "is_set":
        return column.is_not(None)  # type: ignore[no-any-return]
    if op == "is_not_set":
        return column.is_(None)  # type: ignore[no-any-return]
    if op == "ne":
        return or_(column.is_(None), column != want)
    if op == "not_in":
        return or_(column.is_(None), column.not_in(want))
    if op == "eq":
        test = column == want
    elif op == "in":
        test = column.in_(want)
    elif op == "gt":
        test = column > want
    elif op == "gte":
        test = column >= want
    elif op == "lt":
        test = column < want
    elif op == "lte":
        test = column <= want
    elif op == "starts_with":
        # substr, not LIKE: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
        test = func.substr(column, 1, len(want)) == want
    else:
        raise ValueError(f"unknown operator {op}")
    return and_(column.is_not(None), test)


def condition(cond: Condition, now: datetime) -> ColumnElement[bool]:
    """One condition as a never-NULL boolean expression."""
    spec = cond.spec
    op, want = cond.op, cond.value
    if spec.dynamic == "in_conversation":
        active = in_conversation(now)
        return active if want else ~active
    if spec.tag is not None:
        if op == "has":
            return _tag(spec.tag, (want,))
        if op == "not_has":
            return ~_tag(spec.tag, (want,))
        return _tag(spec.tag, tuple(want))  # has_any
    column = getattr(VisitorTraits, spec.column or "")
    if spec.derive == "positive":
        positive = and_(column.is_not(None), column > 0)
        return positive if want else ~positive
    if spec.derive == "set":
        return column.is_not(None) if want else column.is_(None)  # type: ignore[no-any-return]
    if spec.type == "bool":
        return column == want  # type: ignore[no-any-return]
    if spec.type == "days_ago":
        since = now - timedelta(days=want)
        test = column >= since if op == "within" else column < since
        return and_(column.is_not(None), test)
    return _compare(column, op, want)


def where(filter: Filter, now: datetime) -> ColumnElement[bool]:
    """The filter as a WHERE clause over visitor_traits."""
    if not filter.conditions:
        return true()
    parts = [condition(c, now) for c in filter.conditions]
    if len(parts) == 1:
        return parts[0]
    return and_(*parts) if filter.match == "all" else or_(false(), *parts)


def count_query(filter: Filter, now: datetime) -> Select[int]:
    """``SELECT count(*)`` of the visitors in the segment."""
    return select(func.count()).select_from(VisitorTraits).where(where(filter, now))


def members(filter: Filter, now: datetime) -> Select[str]:
    """The visitor ids in the segment (a subquery for analytics)."""
    return select(VisitorTraits.visitor_id).where(where(filter, now))
