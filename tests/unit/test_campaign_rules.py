"""Campaign validation: every bad input refused with a message naming its field."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from chat_server.services.campaigns.patterns import glob_to_regex
from chat_server.services.campaigns.rules import (
    CampaignRules,
    RuleErrors,
    parse_draft,
    schedule_errors,
)

GOALS = frozenset({"purchase", "signup"})


def good() -> dict[str, Any]:
    return {
        "name": "Shoes opener",
        "kind": "bot",
        "priority": 5,
        "rules": {"url_include": ["/products/*"], "active_seconds": 10},
        "variants": [
            {"key": "A", "weight": 0.5, "content": {"text": "Need help with sizes?"}},
            {"key": "B", "weight": 0.5, "content": {"text": "Free returns!", "products": True}},
        ],
        "holdout": 0.1,
        "goal": {"type": "conversion", "name": "purchase", "window_hours": 72},
    }


def with_(path: str, value: Any) -> dict[str, Any]:
    data = good()
    node: Any = data
    *parts, last = path.split(".")
    for p in parts:
        node = node[int(p)] if p.isdigit() else node[p]
    if value is _DELETE:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return data


_DELETE = object()

# (name, path, value, field, message fragment)
BAD: list[tuple[str, str, Any, str, str]] = [
    ("empty glob", "rules.url_include", [""], "rules.url_include", "may not be empty"),
    ("glob with a space", "rules.url_include", ["/a b"], "rules.url_include", "spaces"),
    ("glob triple star", "rules.url_exclude", ["/a/***"], "rules.url_exclude", "not ***"),
    ("glob without a slash", "rules.url_include", ["products/*"], "rules.url_include",
     "start with /"),
    ("glob open brace", "rules.url_include", ["/{a,b"], "rules.url_include", "without its }"),
    ("glob close brace", "rules.url_include", ["/a}"], "rules.url_include", "without its {"),
    ("glob nested braces", "rules.url_include", ["/{a,{b}}"], "rules.url_include", "nested"),
    ("glob too long", "rules.url_include", ["/" + "a" * 400], "rules.url_include", "at most"),
    ("regex back-reference", "rules.url_regex", r"(a)\1", "rules.url_regex", "back-references"),
    ("regex look-ahead", "rules.url_regex", r"foo(?=bar)", "rules.url_regex", "look-arounds"),
    ("regex does not compile", "rules.url_regex", r"([a-", "rules.url_regex", "does not compile"),
    ("regex too long", "rules.url_regex", "a" * 600, "rules.url_regex", "at most"),
    ("visits min over max", "rules", {"visits_min": 5, "visits_max": 2}, "rules.visits_min",
     "greater than visits_max"),
    ("days min over max", "rules", {"days_since_last_visit_min": 9,
     "days_since_last_visit_max": 2}, "rules.days_since_last_visit_min", "greater than"),
    ("new visitor on visit 3", "rules", {"visitor": "new", "visits_min": 3}, "rules.visits_min",
     "new visitor"),
    ("ends before it starts", "rules", {"starts_at": "2027-01-02T00:00:00Z",
     "ends_at": "2027-01-01T00:00:00Z"}, "rules.ends_at", "after starts_at"),
    ("ends when it starts", "rules", {"starts_at": "2027-01-02T00:00:00Z",
     "ends_at": "2027-01-02T00:00:00Z"}, "rules.ends_at", "after starts_at"),
    ("exit intent on mobile only", "rules", {"exit_intent": True, "devices": ["mobile"]},
     "rules.exit_intent", "desktop only"),
    ("unknown device", "rules.devices", ["watch"], "rules.devices.0", "desktop"),
    ("bad language", "rules.languages", ["english!"], "rules.languages", "language tag"),
    ("bad referrer host", "rules.referrer_host", ["http://x.com"], "rules.referrer_host", "host"),
    ("utm star inside", "rules.utm_campaign", ["a*b"], "rules.utm_campaign", "only at the end"),
    ("unknown rule", "rules.shoe_size", 42, "rules.shoe_size", "Extra inputs"),
    ("scroll over 100", "rules.scroll_percent", 150, "rules.scroll_percent", "100"),
    # The widget's Rapport.trigger refuses these names, so no trigger could ever fire them.
    ("trigger starts with a digit", "rules.site_trigger", "1cart", "rules.site_trigger", "pattern"),
    ("trigger too long", "rules.site_trigger", "c" * 51, "rules.site_trigger", "pattern"),
    ("weights under 1", "variants.1.weight", 0.3, "variants", "they add up to 0.8"),
    ("weights over 1", "variants.1.weight", 0.9, "variants", "they add up to 1.4"),
    ("zero weight", "variants.1.weight", 0, "variants.1.weight", "greater than 0"),
    ("a control variant", "variants.1.key", "control", "variants.1.key", "reserved"),
    ("a Control variant", "variants.0.key", "CONTROL", "variants.0.key", "reserved"),
    ("two controls", "variants", [
        {"key": "control", "weight": 0.5, "content": {"text": "a"}},
        {"key": "control", "weight": 0.5, "content": {"text": "b"}},
    ], "variants.0.key", "reserved"),
    ("duplicate keys", "variants.1.key", "A", "variants", "unique: A repeated"),
    ("lower-case key", "variants.1.key", "b", "variants.1.key", "A-Z"),
    ("key too long", "variants.1.key", "A" * 33, "variants.1.key", "at most 32"),
    ("no variants", "variants", [], "variants", "at least 1"),
    ("six variants", "variants", [
        {"key": f"V{i}", "weight": 1 / 6, "content": {"text": "x"}} for i in range(6)
    ], "variants", "at most 5"),
    ("holdout over 0.9", "holdout", 0.95, "holdout", "0.9"),
    ("text too long", "variants.0.content.text", "x" * 1001, "variants.0.content.text", "1000"),
    ("no opener text", "variants.0.content", {"products": True}, "variants.0.content.text",
     "needs a text"),
    ("button without payload", "variants.0.content.buttons", [{"title": "Go"}],
     "variants.0.content.buttons.0.payload", "Field required"),
    ("goal window 0", "goal.window_hours", 0, "goal.window_hours", "greater than or equal to 1"),
    ("goal window over 30 days", "goal.window_hours", 721, "goal.window_hours", "720"),
    ("conversion goal without name", "goal.name", _DELETE, "goal.name", "needs the goal's name"),
    ("reply goal with a name", "goal", {"type": "reply", "name": "x"}, "goal.name", "has no name"),
    ("unknown goal type", "goal.type", "clicks", "goal.type", "conversion"),
    ("unknown goal name", "goal.name", "world_peace", "goal.name",
     "unknown conversion goal 'world_peace' (CONVERSION_GOALS: purchase, signup)"),
    ("agent kind without agent", "kind", "agent", "agent_id", "needs agent_id"),
    ("agent id on a bot campaign", "agent_id", 3, "agent_id", "only for campaigns of kind agent"),
    ("nps without question", "kind", "nps", "variants.0.content.question", "needs the question"),
    ("blank name", "name", "   ", "name", "blank"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "value", "field", "fragment"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_input_is_refused_with_a_message(
    path: str, value: Any, field: str, fragment: str
) -> None:
    with pytest.raises(RuleErrors) as caught:
        parse_draft(with_(path, value), GOALS)
    fields = {e["field"]: e["message"] for e in caught.value.errors}
    assert field in fields, caught.value.errors
    assert fragment in fields[field]


def test_a_good_draft_passes_and_allocates() -> None:
    draft = parse_draft(good(), GOALS)
    assert draft.allocation() == [("A", 0.45), ("B", 0.45), ("control", 0.1)]
    assert sum(w for _, w in draft.allocation()) == pytest.approx(1)
    no_holdout = parse_draft(with_("holdout", 0), GOALS)
    assert no_holdout.allocation() == [("A", 0.5), ("B", 0.5)]
    nps = copy.deepcopy(good())
    nps.update(kind="nps", goal={"type": "nps", "window_hours": 24})
    nps["variants"] = [{"key": "Q", "weight": 1, "content": {"question": "Recommend us?"}}]
    assert parse_draft(nps, GOALS).kind == "nps"


def test_weights_within_rounding_add_up() -> None:
    data = with_(
        "variants", [{"key": f"V{i}", "weight": 1 / 3, "content": {"text": "x"}} for i in range(3)]
    )
    assert len(parse_draft(data, GOALS).variants) == 3


def test_several_errors_come_back_together() -> None:
    data = good()
    data["rules"] = {"url_include": ["nope"], "url_regex": r"(x)\1"}
    data["holdout"] = 2
    with pytest.raises(RuleErrors) as caught:
        parse_draft(data, GOALS)
    assert {e["field"] for e in caught.value.errors} == {
        "rules.url_include",
        "rules.url_regex",
        "holdout",
    }


def test_end_in_the_past_is_a_schedule_error() -> None:
    rules = CampaignRules(ends_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert schedule_errors(rules, datetime(2026, 6, 1, tzinfo=UTC)) == [
        {"field": "rules.ends_at", "message": "ends_at is in the past"}
    ]
    assert schedule_errors(rules, datetime(2025, 6, 1, tzinfo=UTC)) == []


def test_regex_with_catastrophic_shape_is_accepted_because_re2_is_linear() -> None:
    # (a+)+$ hangs Python's re on "aaaa…!"; RE2 compiles it to an automaton.
    rules = CampaignRules(url_regex=r"(a+)+$")
    assert rules.url_regex == r"(a+)+$"


def test_glob_translation() -> None:
    assert glob_to_regex("/p/*/x/**") == r"/p/[^/]*/x/.*"
    assert glob_to_regex("/{a,b}.html") == r"/(?:a|b)\.html"
    start = time.perf_counter()
    glob_to_regex("/" + "*a" * 100)
    assert time.perf_counter() - start < 0.1
