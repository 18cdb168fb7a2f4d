"""action_search_products: cards, refinement, no-match and no-category paths."""

from actions.product_search import ActionSearchProducts
from conftest import slot_events


def cards_of(messages):
    payloads = [m["custom"] for m in messages if m.get("custom")]
    assert len(payloads) == 1
    assert payloads[0]["type"] == "product_cards"
    return payloads[0]["products"]


def test_search_by_category_color_and_budget(tracker, run):
    t = tracker(
        "blue backpacks under $150",
        "find_product",
        {"product_category": "backpacks", "color": "blue", "budget": "$150"},
    )
    events, messages = run(ActionSearchProducts(), t)
    cards = cards_of(messages)
    assert 1 <= len(cards) <= 4
    for c in cards:
        assert c["category"] == "backpacks"
        assert "blue" in c["colors"]
        assert c["price"] <= 150
        assert c["currency"] == "USD" and c["reason"]
    slots = slot_events(events)
    assert slots["budget"] == 150.0
    assert slots["product_category"] == "backpacks"
    assert slots["interests"] == ["backpacks"]
    assert "blue backpacks under $150" in messages[0]["text"]
    titles = [b["title"] for m in messages for b in m.get("buttons", [])]
    assert "Talk to a person" in titles


def test_refinement_keeps_previous_filters(tracker, run):
    t = tracker(
        "in red",
        "inform",
        {"color": "red"},
        slots={"product_category": "jackets", "budget": 200.0, "interests": ["jackets"]},
    )
    events, messages = run(ActionSearchProducts(), t)
    cards = cards_of(messages)
    assert cards and all(
        c["category"] == "jackets" and "red" in c["colors"] and c["price"] <= 200 for c in cards
    )
    assert "interests" not in slot_events(events)  # already known


def test_new_category_starts_a_fresh_search(tracker, run):
    t = tracker(
        "show me tents",
        "find_product",
        {"product_category": "tents"},
        slots={"product_category": "jackets", "color": "red", "budget": 90.0},
    )
    events, messages = run(ActionSearchProducts(), t)
    slots = slot_events(events)
    assert slots["color"] is None and slots["budget"] is None
    assert all(c["category"] == "tents" for c in cards_of(messages))


def test_no_match_offers_closest_alternatives(tracker, run):
    t = tracker(
        "pink tent under 50",
        "find_product",
        {"product_category": "tents", "color": "pink", "budget": "50"},
    )
    _, messages = run(ActionSearchProducts(), t)
    assert messages[0]["text"].startswith("I couldn't find pink tents under $50")
    cards = cards_of(messages)
    assert cards and all(c["category"] == "tents" for c in cards)
    assert "not in pink" in cards[0]["reason"]


def test_without_category_asks_with_seven_buttons(tracker, run):
    _, messages = run(ActionSearchProducts(), tracker("I need gear", "find_product"))
    assert len(messages) == 1
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert len(payloads) == 7
    assert '/find_product{"product_category":"tents"}' in payloads
    assert not any(m.get("custom") for m in messages)


def test_attributes_from_the_message_text_shape_reply_and_ranking(tracker, run):
    t = tracker(
        "a waterproof jacket under $200",
        "find_product",
        {"product_category": "jackets", "budget": "$200"},
    )
    _, messages = run(ActionSearchProducts(), t)
    assert "waterproof jackets under $200" in messages[0]["text"]
    assert cards_of(messages)[0]["id"] == "stormshell"  # not the (discounted) down jacket
