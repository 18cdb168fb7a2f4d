"""The registry of segment fields: what a filter condition may test.

Each field has a type, the operators its type allows, and where it lives: a
``visitor_traits`` column, a ``visitor_tags`` kind, or the dynamic "in a
conversation now". The evaluator (evaluate.py) and the SQL compiler (sql.py)
both read this registry, so a field is defined once. docs/segments.md lists
the fields for humans; ``GET /api/segments/fields`` for the editor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

FieldType = Literal["bool", "int", "float", "days_ago", "text", "enum", "tag"]

# Operators by type. Text/enum "ne" and "not_in" also match visitors with no
# value (a visitor with no UTM source "is not newsletter"); the numeric and
# date comparisons never match a missing value.
OPERATORS: Mapping[FieldType, tuple[str, ...]] = {
    "bool": ("is",),
    "int": ("eq", "ne", "gt", "gte", "lt", "lte"),
    "float": ("eq", "ne", "gt", "gte", "lt", "lte"),
    # within N days: at or after now - N days; before: older than N days.
    "days_ago": ("within", "before"),
    "text": ("eq", "ne", "in", "not_in", "starts_with"),
    "enum": ("eq", "ne", "in", "not_in"),
    # has: the visitor has this tag; not_has: does not; has_any: any of a list.
    "tag": ("has", "not_has", "has_any"),
}
# Extra operators of fields that may have no value at all.
NULL_OPERATORS = ("is_set", "is_not_set")
# Operators that take a list of values, and those that take none.
LIST_OPERATORS = frozenset({"in", "not_in", "has_any"})
NO_VALUE_OPERATORS = frozenset(NULL_OPERATORS)

# A bot conversation counts as "in a conversation now" while it has had
# activity this recently; queued and assigned ones always count.
CONVERSATION_ACTIVE = timedelta(minutes=30)
ACTIVE_STATES = ("queued", "assigned")

DEVICES = ("desktop", "mobile", "tablet")
TAG_KINDS = ("interest", "goal", "category")


@dataclass(frozen=True)
class SegmentField:
    """One thing a condition can test.

    Exactly one of ``column``, ``tag`` or ``dynamic`` says where it lives.
    ``derive`` turns a column into a yes/no: ``"positive"`` (column > 0),
    ``"set"`` (column is not null).
    """

    name: str
    label: str
    type: FieldType
    column: str | None = None
    tag: str | None = None
    dynamic: Literal["in_conversation"] | None = None
    derive: Literal["positive", "set"] | None = None
    nullable: bool = False
    options: tuple[str, ...] = ()
    # Bounds of numeric values (inclusive).
    low: float | None = None
    high: float | None = None
    group: str = ""

    def allowed(self) -> tuple[str, ...]:
        """The operators this field accepts."""
        base = OPERATORS[self.type]
        return base + NULL_OPERATORS if self.nullable else base

    def describe(self) -> dict[str, Any]:
        """The field for the editor (``GET /api/segments/fields``)."""
        out: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "group": self.group,
            "operators": list(self.allowed()),
        }
        if self.options:
            out["options"] = list(self.options)
        if self.low is not None:
            out["min"] = self.low
        if self.high is not None:
            out["max"] = self.high
        return out


MAX_COUNT = 1_000_000_000
MAX_MONEY = 1e12
MAX_DAYS = 3650


def _text(name: str, label: str, group: str) -> SegmentField:
    return SegmentField(name, label, "text", column=name, nullable=True, group=group)


FIELDS: tuple[SegmentField, ...] = (
    SegmentField("identified", "Identified customer", "bool", column="identified", group="Who"),
    SegmentField("visits", "Visits", "int", column="visits", low=0, high=MAX_COUNT, group="Visits"),
    SegmentField(
        "page_views",
        "Pages viewed",
        "int",
        column="page_views",
        low=0,
        high=MAX_COUNT,
        group="Visits",
    ),
    SegmentField(
        "first_seen",
        "First seen (days ago)",
        "days_ago",
        column="first_seen_at",
        low=0,
        high=MAX_DAYS,
        group="Visits",
    ),
    SegmentField(
        "last_seen",
        "Last seen (days ago)",
        "days_ago",
        column="last_seen_at",
        low=0,
        high=MAX_DAYS,
        group="Visits",
    ),
    _text("first_source", "UTM source, first visit", "Acquisition"),
    _text("first_medium", "UTM medium, first visit", "Acquisition"),
    _text("first_campaign", "UTM campaign, first visit", "Acquisition"),
    _text("first_referrer", "Referrer host, first visit", "Acquisition"),
    _text("last_source", "UTM source, latest visit", "Acquisition"),
    _text("last_medium", "UTM medium, latest visit", "Acquisition"),
    _text("last_campaign", "UTM campaign, latest visit", "Acquisition"),
    _text("last_referrer", "Referrer host, latest visit", "Acquisition"),
    SegmentField(
        "device",
        "Device",
        "enum",
        column="device",
        nullable=True,
        options=DEVICES,
        group="Browser",
    ),
    _text("language", "Browser language (e.g. en, pt-br)", "Browser"),
    SegmentField("interest", "Interest (from chats)", "tag", tag="interest", group="Chats"),
    SegmentField("category", "Product category (from chats)", "tag", tag="category", group="Chats"),
    SegmentField(
        "budget",
        "Budget (from chats)",
        "float",
        column="budget",
        nullable=True,
        low=0,
        high=MAX_MONEY,
        group="Chats",
    ),
    SegmentField(
        "converted",
        "Converted (any goal)",
        "bool",
        column="conversions",
        derive="positive",
        group="Conversions",
    ),
    SegmentField(
        "conversions",
        "Conversions",
        "int",
        column="conversions",
        low=0,
        high=MAX_COUNT,
        group="Conversions",
    ),
    SegmentField("goal", "Converted on goal", "tag", tag="goal", group="Conversions"),
    SegmentField(
        "conversion_value",
        "Conversion value (total)",
        "float",
        column="conversion_value",
        low=0,
        high=MAX_MONEY,
        group="Conversions",
    ),
    SegmentField(
        "csat_given",
        "Gave a CSAT rating",
        "bool",
        column="csat_score",
        derive="set",
        group="Feedback",
    ),
    SegmentField(
        "csat_score",
        "CSAT score (latest, 1-5)",
        "int",
        column="csat_score",
        nullable=True,
        low=1,
        high=5,
        group="Feedback",
    ),
    SegmentField(
        "nps_score",
        "NPS score (latest, 0-10)",
        "int",
        column="nps_score",
        nullable=True,
        low=0,
        high=10,
        group="Feedback",
    ),
    SegmentField("consent", "Newsletter consent", "bool", column="consent", group="Consent"),
    SegmentField(
        "in_conversation",
        "In a conversation now",
        "bool",
        dynamic="in_conversation",
        group="Now",
    ),
)

BY_NAME: Mapping[str, SegmentField] = {f.name: f for f in FIELDS}


def describe_all() -> list[dict[str, Any]]:
    """Every field for the editor, in registry order."""
    return [f.describe() for f in FIELDS]
