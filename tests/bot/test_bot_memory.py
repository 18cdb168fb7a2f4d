"""Visitor memory: personalised ranking, validated capture, greeting, decline, forget-me."""

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import catalog as cat
from actions.data import catalog
from actions.greeting import ActionGreet
from actions.privacy import ActionForgetMe
from actions.product_search import ActionDeclineProducts, ActionSearchProducts
from actions.profile import (
    ValidateSlotMappings,
    clean_color,
    clean_name,
    clean_size,
    name_from_text,
)
from conftest import make_tracker, slot_events

DOMAIN = {
    "slots": {
        s: {"mappings": [{"type": "custom"}]}
        for s in [
            "name",
            "email",
            "budget",
            "interests",
            "product_category",
            "order_id",
            "color",
            "size",
        ]
    }
}


def history_tracker(events, text, intent, entities=None, slots=None):
    """A tracker with earlier ``events`` (and the slots remembered from earlier
    turns) before the latest user message."""
    events = [{"event": "slot", "name": k, "value": v} for k, v in (slots or {}).items()] + list(
        events
    )
    ents = [{"entity": k, "value": v} for k, v in (entities or {}).items()]
    message = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": ents}
    return Tracker(
        "visitor",
        dict(slots or {}),
        message,
        [*list(events), {"event": "user", "text": text, "parse_data": message}],
        False,
        None,
        {},
        "action_listen",
    )


def cards_of(messages):
    return [p for m in messages if m.get("custom") for p in m["custom"].get("products", [])]


# ---------- ranking (pure functions) ----------


def test_declined_products_are_never_suggested():
    declined = [p["id"] for p in catalog() if p["category"] == "tents"][:5]
    profile = cat.Profile(declined=declined)
    result = cat.search(catalog(), cat.Criteria(category="tents"), limit=3, profile=profile)
    assert [p["id"] for p in result.products] == [
        p["id"] for p in catalog() if p["category"] == "tents" and p["id"] not in declined
    ]
    # even when filters are relaxed
    result = cat.search(
        catalog(), cat.Criteria(category="tents", color="pink", max_price=10), profile=profile
    )
    assert not set(p["id"] for p in result.products) & set(declined)


def test_budget_is_respected_and_explained():
    result = cat.search(
        catalog(), cat.Criteria(category="tents", max_price=300), limit=3, profile=cat.Profile()
    )
    assert result.exact and result.products
    assert all(cat.sale_price(p) <= 300 for p in result.products)
    reasons = [
        cat.reason(p, cat.Criteria(category="tents", max_price=300)) for p in result.products
    ]
    assert all("under your $300 budget" in r for r in reasons)
    pop = next(p for p in catalog() if p["id"] == "tent-pop-2")
    assert (
        cat.reason(pop, cat.Criteria(category="tents", max_price=300))
        == "2-person, under your $300 budget, 25% off this week"
    )


def test_already_recommended_products_come_last():
    first = cat.search(catalog(), cat.Criteria(category="jackets"), limit=3, profile=cat.Profile())
    shown = [p["id"] for p in first.products]
    again = cat.search(
        catalog(), cat.Criteria(category="jackets"), limit=3, profile=cat.Profile(recommended=shown)
    )
    assert not set(shown) & {p["id"] for p in again.products}  # 6 jackets: 3 new ones
    # nothing else left: repeats are allowed rather than showing nothing
    everything = [p["id"] for p in catalog() if p["category"] == "jackets"]
    last = cat.search(
        catalog(),
        cat.Criteria(category="jackets"),
        limit=3,
        profile=cat.Profile(recommended=everything),
    )
    assert len(last.products) == 3


def test_interests_colours_and_clicks_shape_the_ranking():
    # no category named: the most recent interest wins
    profile = cat.Profile(interests=["backpacks", "tents"])
    ranked = cat.filter_products(catalog(), cat.Criteria(), profile)
    assert {p["category"] for p in ranked[:3]} == {"backpacks"}
    # a clicked product and similar ones come first
    tents = [p for p in catalog() if p["category"] == "tents"]
    profile = cat.Profile(clicked=["tent-alpine-2"])
    ranked = cat.filter_products(catalog(), cat.Criteria(category="tents"), profile)
    assert ranked[0]["id"] == "tent-alpine-2"
    clicked = cat.clicked_products(catalog(), profile)
    assert "you looked at this one" in cat.reason(ranked[0], cat.Criteria(), profile, clicked)
    other = next(p for p in tents if p["id"] != "tent-alpine-2")
    assert "similar to what you looked at" in cat.reason(other, cat.Criteria(), profile, clicked)
    # preferred colour breaks ties without filtering
    profile = cat.Profile(colors=["yellow"])
    ranked = cat.filter_products(catalog(), cat.Criteria(category="tents"), profile)
    assert len(ranked) == len(tents)


def test_greeting_offer_is_a_real_deal_within_budget():
    offer = cat.greeting_offer(catalog(), "tents", budget=300)
    assert offer["id"] == "tent-pop-2" and offer["discount_percent"] == 25
    assert cat.greeting_offer(catalog(), "tents", budget=300, declined=["tent-pop-2"]) is None
    assert cat.short_name(offer) == "Pop-Up 2"
    new = cat.greeting_offer(
        catalog(), "tents", budget=360, declined=["tent-pop-2", "tent-trekker-3"]
    )
    assert new["id"] == "tent-featherlite-1"  # no deal left: a new arrival


@pytest.mark.parametrize(
    "text,expected",
    [
        ("$300", 300.0),
        ("300 dollars", 300.0),
        ("under 150", 150.0),
        ("around 1k", 1000.0),
        ("-50", None),
        ("minus 20 dollars", None),
        ("$-100", None),
        ("0", None),
        ("zero", None),
        ("lots", None),
        (-5, None),
        (10**9, None),
    ],
)
def test_parse_budget_rejects_non_positive_and_garbage(text, expected):
    assert cat.parse_budget(text) == expected


# ---------- validation (action_validate_slot_mappings) ----------


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("priya", "Priya"),
        ("  PRIYA ", "Priya"),
        ("anne-marie", "Anne-Marie"),
        ("o'brien", "O'Brien"),
        ("maria garcia", "Maria Garcia"),
        ("Tomás", "Tomás"),
        ("tent", None),
        ("Hello", None),
        ("hiking boots", None),
        ("R2D2", None),
        ("x" * 41, None),
        ("", None),
        ("priya@example.com", None),
        (None, None),
        ("blue", None),
    ],
)
def test_clean_name(raw, expected):
    assert clean_name(raw) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("my name is Priya", "Priya"),
        ("I'm Priya", "Priya"),
        ("call me Sam", "Sam"),
        ("i'm priya", "Priya"),
        ("hi, I am Anne-Marie!", "Anne-Marie"),
        ("I'm looking for a tent", None),
        ("I'm after a jacket", None),
        ("this is too expensive", None),
        ("my name is tent", None),
    ],
)
def test_name_from_text(text, expected):
    assert name_from_text(text) == expected


def validate(tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateSlotMappings().run(dispatcher, tracker, DOMAIN))
    return slot_events(events), dispatcher.messages


def test_validation_sets_name_from_pattern_and_cleans_entities():
    slots, _ = validate(make_tracker("my name is priya", "inform"))
    assert slots["name"] == "Priya"
    t = history_tracker([], "I'm tent", "inform", {"name": "tent"})
    t.events.append({"event": "slot", "name": "name", "value": "tent"})
    t.slots["name"] = "tent"
    slots, _ = validate(t)
    assert slots["name"] is None  # rejected, nothing stored


def test_rejected_name_keeps_the_previous_one():
    before = [{"event": "slot", "name": "name", "value": "Priya"}]
    t = history_tracker(before, "I'm hello", "inform", {"name": "hello"}, slots={"name": "hello"})
    t.events.append({"event": "slot", "name": "name", "value": "hello"})
    slots, _ = validate(t)
    assert slots["name"] == "Priya"


def test_bad_email_is_rejected_and_the_old_one_kept():
    before = [{"event": "slot", "name": "email", "value": "priya@example.com"}]
    t = history_tracker(
        before, "my email is priya@", "inform", {"email": "priya@"}, slots={"email": "priya@"}
    )
    t.events.append({"event": "slot", "name": "email", "value": "priya@"})
    slots, messages = validate(t)
    assert slots["email"] == "priya@example.com"
    assert messages[0]["response"] == "utter_invalid_email"
    t = make_tracker(
        "it's Priya@Example.com",
        "inform",
        {"email": "Priya@Example.com"},
        slots={"email": "Priya@Example.com"},
    )
    t.events.append({"event": "slot", "name": "email", "value": "Priya@Example.com"})
    assert validate(t)[0]["email"] == "priya@example.com"


@pytest.mark.parametrize(
    "text,entity,expected",
    [
        ("my budget is 300 dollars", "300 dollars", 300.0),
        ("my budget is 300 dollars", None, 300.0),  # the model missed the entity
        ("around 1k", "around 1k", 1000.0),
        ("under $150", "$150", 150.0),
    ],
)
def test_budget_is_parsed(text, entity, expected):
    entities = {"budget": entity} if entity else {}
    slots, messages = validate(make_tracker(text, "inform", entities))
    assert slots["budget"] == expected and not messages


@pytest.mark.parametrize(
    "text,entity",
    [
        ("my budget is -50", "-50"),
        ("budget is 0 dollars", "0 dollars"),
        ("budget: lots", "lots"),
    ],
)
def test_invalid_budget_is_rejected_with_a_reask(text, entity):
    t = make_tracker(text, "inform", {"budget": entity}, slots={"budget": 200.0})
    slots, messages = validate(t)
    assert "budget" not in slots  # the remembered 200 stays
    assert [m["response"] for m in messages] == ["utter_invalid_budget"]


def test_interests_most_recent_first_without_duplicates():
    t = make_tracker(
        "how much are tents",
        "ask_price",
        {"product_category": "tent"},
        slots={"interests": ["jackets", "tents", "backpacks"]},
    )
    assert validate(t)[0]["interests"] == ["tents", "jackets", "backpacks"]


# ---------- actions ----------


def test_recommendations_for_me_use_interests_and_budget(run):
    t = make_tracker(
        "what would you recommend for me?",
        "find_product",
        slots={
            "interests": ["tents", "jackets"],
            "budget": 300.0,
            "products_recommended": ["tent-featherlite-1"],
        },
    )
    events, messages = run(ActionSearchProducts(), t)
    cards = cards_of(messages)
    assert cards and all(c["category"] == "tents" and c["price"] <= 300 for c in cards)
    assert all("under your $300 budget" in c["reason"] for c in cards)
    slots = slot_events(events)
    assert slots["products_recommended"][0] == "tent-featherlite-1"
    assert set(slots["products_recommended"][1:]) == {c["id"] for c in cards}
    assert slots["last_topic"] == "tents" and slots["budget"] == 300.0


def test_search_moves_the_category_to_the_front_of_interests(run):
    t = make_tracker(
        "show me tents",
        "find_product",
        {"product_category": "tents"},
        slots={"interests": ["jackets", "tents"]},
    )
    events, _ = run(ActionSearchProducts(), t)
    assert slot_events(events)["interests"] == ["tents", "jackets"]


def test_decline_records_shown_products_and_offers_others(run):
    shown = [{"id": "tent-pop-2"}, {"id": "tent-ridge-2"}]
    before = [
        {"event": "user", "text": "tents"},
        {"event": "bot", "text": "Here are some tents"},
        {"event": "bot", "data": {"custom": {"type": "product_cards", "products": shown}}},
    ]
    t = history_tracker(
        before,
        "not for me",
        "deny",
        slots={"product_category": "tents", "products_declined": ["x"]},
    )
    events, messages = run(ActionDeclineProducts(), t)
    slots = slot_events(events)
    assert slots["products_declined"] == ["x", "tent-pop-2", "tent-ridge-2"]
    cards = cards_of(messages)
    assert cards and not {c["id"] for c in cards} & {"tent-pop-2", "tent-ridge-2"}
    assert messages[0]["text"].startswith("No problem, I won't suggest those again")


def test_deny_without_shown_products_is_just_browsing(run):
    events, messages = run(ActionDeclineProducts(), make_tracker("no", "deny"))
    assert events == [] and messages[0]["response"] == "utter_browse_ok"


def test_greeting_new_visitor_is_generic(run):
    _, messages = run(ActionGreet(), make_tracker("hi", "greet"))
    assert messages[0]["response"] == "utter_greet"
    _, messages = run(
        ActionGreet(), history_tracker([], "hi", "greet", slots={"interests": ["tents"]})
    )
    assert "welcome back" not in messages[0]["text"].lower()


def test_greeting_returning_visitor_with_a_real_deal_in_budget(run):
    t = history_tracker(
        [],
        "hi",
        "greet",
        slots={
            "name": "Priya",
            "interests": ["tents", "jackets"],
            "last_topic": "tents",
            "budget": 300.0,
        },
    )
    _, messages = run(ActionGreet(), t)
    assert (
        messages[0]["text"]
        == "Welcome back, Priya — still after tents? The Pop-Up 2 is 25% off this week."
    )
    assert messages[0]["buttons"][0]["payload"] == '/find_product{"product_category":"tents"}'
    # last_topic is a support topic: the latest interest is used
    t = history_tracker(
        [],
        "hi",
        "greet",
        slots={"name": "Priya", "interests": ["jackets"], "last_topic": "returns"},
    )
    assert "still after jackets?" in run(ActionGreet(), t)[1][0]["text"]


def test_no_second_welcome_back_in_the_same_session(run):
    before = [
        {"event": "session_started"},
        {"event": "bot", "text": "Welcome back, Priya — still after tents?"},
    ]
    t = history_tracker(
        before, "hello again", "greet", slots={"name": "Priya", "interests": ["tents"]}
    )
    text = run(ActionGreet(), t)[1][0]["text"]
    assert "welcome back" not in text.lower() and text.startswith("Hi again, Priya")
    # a new session may welcome back again
    t = history_tracker(
        [*before, {"event": "session_started"}],
        "hi",
        "greet",
        slots={"name": "Priya", "interests": ["tents"]},
    )
    assert run(ActionGreet(), t)[1][0]["text"].startswith("Welcome back, Priya")


def test_forget_me_sends_the_privacy_payload(run):
    events, messages = run(ActionForgetMe(), make_tracker("yes", "affirm", slots={"name": "Priya"}))
    assert messages[0]["response"] == "utter_forgotten"
    assert messages[1]["custom"] == {"privacy": {"forget": True}}
    assert events == [{"event": "reset_slots", "timestamp": None}]


def test_greeting_that_introduces_the_visitor_is_not_a_welcome_back(run):
    t = make_tracker("hi, I'm Lucas", "greet", {"name": "Lucas"}, slots={"name": "Lucas"})
    t.events.append({"event": "slot", "name": "name", "value": "Lucas"})
    _, messages = run(ActionGreet(), t)
    assert messages[0]["response"] == "utter_nice_to_meet_you"


def test_negative_budget_mistaken_for_an_order_number_is_still_rejected():
    t = make_tracker("my budget is -50", "inform", {"order_id": "-50"}, slots={"budget": 200.0})
    slots, messages = validate(t)
    assert "budget" not in slots
    assert [m["response"] for m in messages] == ["utter_invalid_budget"]


def test_order_id_outside_the_form_is_normalised_or_dropped():
    t = make_tracker(
        "order tr10023", "inform", {"order_id": "tr10023"}, slots={"order_id": "tr10023"}
    )
    t.events.append({"event": "slot", "name": "order_id", "value": "tr10023"})
    assert validate(t)[0]["order_id"] == "TR-10023"
    t = make_tracker("my budget is -50", "inform", {"order_id": "-50"}, slots={"order_id": "-50"})
    t.events.append({"event": "slot", "name": "order_id", "value": "-50"})
    assert validate(t)[0]["order_id"] is None


def test_search_waits_for_a_valid_budget(run):
    t = make_tracker(
        "my budget is -50",
        "inform",
        {"budget": "-50"},
        slots={"product_category": "tents", "budget": 200.0},
    )
    assert run(ActionSearchProducts(), t) == ([], [])


def test_decline_when_only_over_budget_alternatives_remain(run):
    shown = [{"id": "tent-pop-2"}, {"id": "tent-ridge-2"}]
    before = [
        {"event": "user", "text": "tents"},
        {"event": "bot", "data": {"custom": {"type": "product_cards", "products": shown}}},
    ]
    t = history_tracker(before, "no", "deny", slots={"product_category": "tents", "budget": 300.0})
    _, messages = run(ActionDeclineProducts(), t)
    assert messages[0]["text"].startswith(
        "No problem, I won't suggest those again. I couldn't find"
    )
    assert not {c["id"] for c in cards_of(messages)} & {"tent-pop-2", "tent-ridge-2"}


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("Navy", "blue"),
        ("light blue", "light blue"),
        ("red", "red"),
        ("<b>x</b>", None),
        ('"><img src=x onerror=alert(1)>', None),
        ("javascript:alert(1)", None),
        ("{{7*7}}", None),
        ("${x}", None),
        ("red" * 20, None),
        (42, None),
    ],
)
def test_clean_color(raw, expected):
    assert clean_color(raw) == expected


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("large", "L"),
        ("xl", "XL"),
        ("10.5", "10.5"),
        ("32/34", "32/34"),
        (9, "9"),
        ("<svg onload=alert(1)>", None),
        ("M<script>", None),
        ("{{x}}", None),
    ],
)
def test_clean_size(raw, expected):
    assert clean_size(raw) == expected


def test_validation_refuses_markup_in_colour_and_size_slots():
    """Typed `/inform{"color": "<b>x</b>"}` fills slots directly: markup never stays."""
    t = history_tracker(
        [],
        '/inform{"color": "<b>x</b>"}',
        "inform",
        {"color": "<b>x</b>", "size": "<svg onload=alert(1)>"},
    )
    t.events.append({"event": "slot", "name": "color", "value": "<b>x</b>"})
    t.events.append({"event": "slot", "name": "size", "value": "<svg onload=alert(1)>"})
    t.slots.update({"color": "<b>x</b>", "size": "<svg onload=alert(1)>"})
    slots, _ = validate(t)
    assert slots["color"] is None and slots["size"] is None
    t = history_tracker(
        [], "in navy or <i>red</i>, size large", "inform", {"color": "navy", "size": "large"}
    )
    t.events.append({"event": "slot", "name": "color", "value": ["navy", "<i>red</i>"]})
    t.events.append({"event": "slot", "name": "size", "value": "large"})
    t.slots.update({"color": ["navy", "<i>red</i>"], "size": "large"})
    slots, _ = validate(t)
    assert slots == {**slots, "color": ["blue"], "size": "L"}
