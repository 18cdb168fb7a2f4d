"""Segment filters: validation against the field registry, and the evaluator's table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chat_server import errors
from chat_server.services.segments.evaluate import TraitsView, matches
from chat_server.services.segments.fields import FIELDS, describe_all
from chat_server.services.segments.filter import (
    MAX_CONDITIONS,
    InvalidFilter,
    condition_schema,
    parse_filter,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def one(field: str, op: str, value: Any = None) -> dict[str, Any]:
    condition: dict[str, Any] = {"field": field, "op": op}
    if value is not None:
        condition["value"] = value
    return {"match": "all", "conditions": [condition]}


REFUSED = [
    (one("nope", "eq", 1), "unknown field 'nope'"),
    (one("visits", "has", 1), "operator 'has' is not allowed for visits (int)"),
    (one("visits", "starts_with", "a"), "not allowed for visits"),
    (one("device", "gt", "mobile"), "not allowed for device (enum)"),
    (one("visits", "eq", "3"), "visits eq must be a number"),
    (one("visits", "eq", True), "must be a number"),
    (one("visits", "eq", 2.5), "must be a whole number"),
    (one("visits", "eq", -1), "must be at least 0"),
    (one("last_seen", "within", -7), "days must be at least 0"),
    (one("last_seen", "within", 100_000), "must be at most 3650"),
    (one("budget", "gte", float("inf")), "finite"),
    (one("nps_score", "lte", 11), "at most 10"),
    (one("identified", "is", "yes"), "must be true or false"),
    (one("identified", "is"), "must be a single value"),
    (one("device", "eq", "phone"), "must be one of: desktop, mobile, tablet"),
    (one("device", "in", "mobile"), "must be a list"),
    (one("device", "in", []), "must be a list of 1-50 values"),
    (one("last_source", "in", ["a"] * 51), "must be a list of 1-50 values"),
    (one("last_source", "eq", ["a"]), "must be a single value"),
    (one("last_source", "eq", ""), "1-100 characters"),
    (one("last_source", "eq", "x" * 1_000_000), "1-100 characters"),
    (one("last_source", "eq", "a\x00b"), "NUL"),
    (one("last_source", "eq", "\ud800"), "not valid text"),
    (one("csat_score", "is_set", 3), "is_set takes no value"),
    (one("interest", "has", 5), "must be text"),
    ({"match": "some", "conditions": []}, "match"),
    ({"conditions": [], "extra": 1}, "extra"),
    ({"conditions": "visits > 1"}, "conditions"),
    ({"conditions": [{"field": "visits"}]}, "op"),
    ({"conditions": [{"field": "visits", "op": "eq", "value": 1, "x": 2}]}, "x"),
    ("match all", "filter"),
    ({"conditions": [one("visits", "gte", 1)["conditions"][0]] * 1000}, "at most 20 conditions"),
]


@pytest.mark.parametrize(("data", "message"), REFUSED, ids=range(len(REFUSED)))
def test_bad_filters_are_refused_with_a_clear_message(data: Any, message: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(data)
    assert isinstance(caught.value, errors.Invalid)
    assert message in str(caught.value), str(caught.value)
    assert len(str(caught.value)) < 2000  # a 1 MB value is not echoed back


def test_sql_looking_values_are_plain_values() -> None:
    """Values are data: the compiler binds them as parameters (test_segments_service)."""
    data = one("last_source", "eq", "x' OR '1'='1")
    assert parse_filter(data).conditions[0].value == "x' OR '1'='1"


def test_the_limit_is_twenty_conditions() -> None:
    condition = one("visits", "gte", 1)["conditions"][0]
    assert len(parse_filter({"conditions": [condition] * MAX_CONDITIONS}).conditions) == 20
    with pytest.raises(InvalidFilter):
        parse_filter({"conditions": [condition] * (MAX_CONDITIONS + 1)})


def test_every_field_and_operator_has_a_schema_alternative() -> None:
    """The OpenAPI schema of a condition covers exactly the registry's operators."""
    described = {
        (option["properties"]["field"]["const"], op)
        for option in condition_schema()["anyOf"]
        for op in option["properties"]["op"]["enum"]
    }
    assert described == {(f.name, op) for f in FIELDS for op in f.allowed()}
    assert [f["name"] for f in describe_all()] == [f.name for f in FIELDS]


def test_a_filter_round_trips_through_json() -> None:
    data = {
        "match": "any",
        "conditions": [
            {"field": "device", "op": "in", "value": ["mobile", "tablet"]},
            {"field": "budget", "op": "gte", "value": 100},
            {"field": "csat_score", "op": "is_not_set", "value": None},
        ],
    }
    assert parse_filter(data).as_json() == {
        **data,
        "conditions": [
            data["conditions"][0],
            {"field": "budget", "op": "gte", "value": 100.0},
            data["conditions"][2],
        ],
    }


ALICE = TraitsView(
    "alice",
    identified=True,
    visits=3,
    page_views=10,
    first_seen_at=NOW - timedelta(days=40),
    last_seen_at=NOW - timedelta(days=2),
    first_source="google",
    last_source="newsletter",
    device="mobile",
    language="de-at",
    conversions=1,
    conversion_value=120.0,
    csat_score=4,
    nps_score=6,
    consent=True,
    budget=150.0,
)
BOB = TraitsView("bob", first_seen_at=NOW, last_seen_at=NOW)
ALICE_TAGS = {("interest", "shoes"), ("goal", "purchase")}

# (condition, alice, bob): alice has most traits, bob (new, anonymous) none.
TABLE = [
    (one("identified", "is", True), True, False),
    (one("identified", "is", False), False, True),
    (one("visits", "gte", 2), True, False),
    (one("visits", "eq", 0), False, True),
    (one("page_views", "lt", 10), False, True),
    (one("last_seen", "within", 7), True, True),
    (one("last_seen", "within", 1), False, True),
    (one("last_seen", "before", 1), True, False),
    (one("first_seen", "before", 30), True, False),
    (one("last_source", "eq", "newsletter"), True, False),
    (one("last_source", "ne", "newsletter"), False, True),  # no source is "not newsletter"
    (one("first_source", "in", ["google", "bing"]), True, False),
    (one("first_source", "not_in", ["google"]), False, True),
    (one("last_referrer", "is_set"), False, False),
    (one("last_referrer", "is_not_set"), True, True),
    (one("language", "starts_with", "de"), True, False),
    (one("language", "eq", "de"), False, False),
    (one("device", "eq", "mobile"), True, False),
    (one("device", "in", ["desktop", "tablet"]), False, False),
    (one("interest", "has", "shoes"), True, False),
    (one("interest", "not_has", "shoes"), False, True),
    (one("interest", "has_any", ["tents", "shoes"]), True, False),
    (one("category", "has", "shoes"), False, False),  # the kind matters
    (one("goal", "has", "purchase"), True, False),
    (one("budget", "gte", 100), True, False),
    (one("budget", "lt", 100), False, False),  # bob has no budget: no comparison holds
    (one("budget", "is_not_set"), False, True),
    (one("converted", "is", True), True, False),
    (one("converted", "is", False), False, True),
    (one("conversions", "gte", 1), True, False),
    (one("conversion_value", "gt", 100), True, False),
    (one("csat_given", "is", True), True, False),
    (one("csat_score", "lte", 3), False, False),
    (one("nps_score", "lte", 6), True, False),
    (one("consent", "is", True), True, False),
    (one("in_conversation", "is", True), True, False),
    (one("in_conversation", "is", False), False, True),
    ({"match": "all", "conditions": []}, True, True),
    ({"match": "any", "conditions": []}, True, True),
    (
        {
            "match": "any",
            "conditions": [
                {"field": "visits", "op": "gte", "value": 5},
                {"field": "device", "op": "eq", "value": "mobile"},
            ],
        },
        True,
        False,
    ),
    (
        {
            "match": "all",
            "conditions": [
                {"field": "visits", "op": "gte", "value": 2},
                {"field": "device", "op": "eq", "value": "desktop"},
            ],
        },
        False,
        False,
    ),
]


@pytest.mark.parametrize(("data", "alice", "bob"), TABLE, ids=range(len(TABLE)))
def test_evaluator_table(data: dict[str, Any], alice: bool, bob: bool) -> None:
    segment = parse_filter(data)
    assert matches(segment, ALICE, ALICE_TAGS, True, NOW) is alice
    assert matches(segment, BOB, set(), False, NOW) is bob


def test_naive_datetimes_are_read_as_utc() -> None:
    """SQLite hands back naive datetimes (stored in UTC)."""
    naive = TraitsView("x", last_seen_at=(NOW - timedelta(days=2)).replace(tzinfo=None))
    assert matches(parse_filter(one("last_seen", "within", 3)), naive, set(), False, NOW)
    assert not matches(parse_filter(one("last_seen", "within", 1)), naive, set(), False, NOW)
