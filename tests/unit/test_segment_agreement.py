"""The SQL compiler and the pure evaluator agree on who is in a segment.

Random visitors (traits, tags, conversations) in an in-memory SQLite
database, random filters over every field and operator: the members the SQL
WHERE clause selects are exactly the visitors ``matches`` accepts. That one
property proves both are right against each other, NULLs and edge values
included (the domains are small so that conditions hit and miss alike).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, delete, insert, select
from sqlalchemy.orm import Session

from chat_server.db.engagement_models import VisitorTag, VisitorTraits
from chat_server.db.models import Base, Conversation, Visitor
from chat_server.services.segments import sql
from chat_server.services.segments.evaluate import TraitsView, conversation_active, matches
from chat_server.services.segments.fields import (
    ACTIVE_STATES,
    DEVICES,
    FIELDS,
    LIST_OPERATORS,
    NO_VALUE_OPERATORS,
    TAG_KINDS,
    SegmentField,
)
from chat_server.services.segments.filter import Filter

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
TEXTS = ["newsletter", "news", "google", "de", "de-at", "en", "", "Newsletter"]
TAG_VALUES = ["shoes", "tents", "purchase", "signup"]
DAY_OFFSETS = [0, 1, 6, 7, 8, 30, 400]
TAG_PAIRS = [(kind, value) for kind in TAG_KINDS for value in TAG_VALUES]


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _when(days: int, minutes: int) -> datetime:
    return NOW - timedelta(days=days, minutes=minutes)


optional_text = st.one_of(st.none(), st.sampled_from(TEXTS))
optional_small = st.one_of(st.none(), st.integers(0, 10))


@st.composite
def visitors(draw: st.DrawFn, index: int) -> dict[str, Any]:
    traits = TraitsView(
        visitor_id=f"v{index}",
        identified=draw(st.booleans()),
        visits=draw(st.integers(0, 5)),
        page_views=draw(st.integers(0, 12)),
        first_seen_at=_when(draw(st.sampled_from(DAY_OFFSETS)), draw(st.sampled_from([-1, 0, 1]))),
        last_seen_at=_when(draw(st.sampled_from(DAY_OFFSETS)), draw(st.sampled_from([-1, 0, 1]))),
        first_source=draw(optional_text),
        first_medium=draw(optional_text),
        first_campaign=draw(optional_text),
        first_referrer=draw(optional_text),
        last_source=draw(optional_text),
        last_medium=draw(optional_text),
        last_campaign=draw(optional_text),
        last_referrer=draw(optional_text),
        device=draw(st.one_of(st.none(), st.sampled_from(DEVICES))),
        language=draw(optional_text),
        conversions=draw(st.integers(0, 3)),
        conversion_value=draw(st.sampled_from([0.0, 9.99, 100.0, 250.5])),
        csat_score=draw(st.one_of(st.none(), st.integers(1, 5))),
        nps_score=draw(optional_small),
        consent=draw(st.booleans()),
        budget=draw(st.one_of(st.none(), st.sampled_from([50.0, 100.0, 100.5, 300.0]))),
    )
    tags = frozenset(draw(st.lists(st.sampled_from(TAG_PAIRS), max_size=3)))
    conversation = draw(
        st.one_of(
            st.none(),
            st.tuples(
                st.sampled_from(["bot", "resolved", *ACTIVE_STATES]),
                st.sampled_from([0, 29, 30, 31, 120]),
            ),
        )
    )
    return {"traits": traits, "tags": tags, "conversation": conversation}


def _value(spec: SegmentField, draw: st.DrawFn) -> Any:
    if spec.type == "bool":
        return draw(st.booleans())
    if spec.type == "int":
        low, high = int(spec.low or 0), min(int(spec.high or 12), 12)
        return draw(st.integers(low, high))
    if spec.type == "float":
        return draw(st.sampled_from([0, 9.99, 50, 100, 100.5, 250.5, 1000]))
    if spec.type == "days_ago":
        return draw(st.sampled_from(DAY_OFFSETS))
    if spec.type == "enum":
        return draw(st.sampled_from(spec.options))
    if spec.type == "tag":
        return draw(st.sampled_from(TAG_VALUES))
    return draw(st.sampled_from([t for t in TEXTS if t] + ["N", "d"]))


@st.composite
def filters(draw: st.DrawFn) -> Filter:
    conditions = []
    for _ in range(draw(st.integers(0, 4))):
        spec = draw(st.sampled_from(FIELDS))
        op = draw(st.sampled_from(spec.allowed()))
        condition: dict[str, Any] = {"field": spec.name, "op": op}
        if op in LIST_OPERATORS:
            condition["value"] = draw(st.lists(st.builds(lambda: None), min_size=1, max_size=3))
            condition["value"] = [_value(spec, draw) for _ in condition["value"]]
        elif op not in NO_VALUE_OPERATORS:
            condition["value"] = _value(spec, draw)
        conditions.append(condition)
    return Filter.model_validate(
        {"match": draw(st.sampled_from(["all", "any"])), "conditions": conditions}
    )


def _store(engine: Engine, population: list[dict[str, Any]]) -> None:
    traits = [vars(p["traits"]) for p in population]
    population = [{"tags": frozenset(), "conversation": None, **p} for p in population]
    tags = [
        {"visitor_id": p["traits"].visitor_id, "kind": kind, "value": value}
        for p in population
        for kind, value in p["tags"]
    ]
    talking = [p for p in population if p["conversation"] is not None]
    with engine.begin() as db:
        for table in (VisitorTag, VisitorTraits, Conversation, Visitor):
            db.execute(delete(table))
        db.execute(insert(VisitorTraits), traits)
        if tags:
            db.execute(insert(VisitorTag), tags)
        if talking:
            db.execute(insert(Visitor), [{"id": p["traits"].visitor_id} for p in talking])
            db.execute(
                insert(Conversation),
                [
                    {
                        "visitor_id": p["traits"].visitor_id,
                        "state": p["conversation"][0],
                        "updated_at": NOW - timedelta(minutes=p["conversation"][1]),
                    }
                    for p in talking
                ],
            )


def _active(conversation: tuple[str, int] | None) -> bool:
    """What the campaign engine computes for a visitor it has in hand."""
    if conversation is None:
        return False
    state, minutes = conversation
    return conversation_active(state, NOW - timedelta(minutes=minutes), NOW)


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    population=st.integers(1, 8).flatmap(
        lambda n: st.tuples(*(visitors(i) for i in range(n))).map(list)
    ),
    segment=filters(),
)
def test_sql_and_evaluator_select_the_same_visitors(
    engine: Engine, population: list[dict[str, Any]], segment: Filter
) -> None:
    _store(engine, population)
    with Session(engine) as session:
        by_sql = set(session.scalars(sql.members(segment, NOW)))
        counted = session.scalar(sql.count_query(segment, NOW))
    by_python = {
        p["traits"].visitor_id
        for p in population
        if matches(segment, p["traits"], p["tags"], _active(p["conversation"]), NOW)
    }
    assert by_sql == by_python, segment.as_json()
    assert counted == len(by_python)


def test_the_agreement_test_can_see_a_difference(engine: Engine) -> None:
    """A filter both sides decide differently for would be caught: the SQL side
    reads the stored rows (not the evaluator's inputs)."""
    population = [
        {"traits": TraitsView("a", visits=3, first_seen_at=NOW, last_seen_at=NOW)},
        {"traits": TraitsView("b", visits=1, first_seen_at=NOW, last_seen_at=NOW)},
    ]
    _store(engine, population)
    segment = Filter.model_validate({"conditions": [{"field": "visits", "op": "gte", "value": 2}]})
    with Session(engine) as session:
        assert set(session.scalars(sql.members(segment, NOW))) == {"a"}
        assert (
            session.scalar(select(VisitorTraits.visits).where(VisitorTraits.visitor_id == "b")) == 1
        )
