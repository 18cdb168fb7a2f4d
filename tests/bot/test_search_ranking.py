"""Attribute search end to end: message text -> action_search_products -> cards.

Expectations are picked by hand from the real ``bot/data/catalog.json``; each
row says why. Queries go through the same entry point the action server uses
(``ActionSearchProducts.run`` with a rasa_sdk ``Tracker``), with the entities
the NLU model would extract (category, colour, size, budget); attributes come
from the message text only.
"""

from typing import Any

import pytest
from rasa_sdk import Tracker

from actions import catalog as cat
from actions.data import catalog
from actions.product_search import ActionDeclineProducts, ActionSearchProducts, describe
from conftest import make_tracker, run_action, slot_events


def cards_of(messages) -> list[dict[str, Any]]:
    payloads = [m["custom"] for m in messages if m.get("custom")]
    return payloads[0]["products"] if payloads else []


def search(
    text: str,
    entities: dict[str, Any] | None = None,
    intent: str = "find_product",
    slots: dict[str, Any] | None = None,
) -> tuple[list[str], str, list[dict]]:
    """(card ids, first reply text, events) for one message."""
    events, messages = run_action(
        ActionSearchProducts(), make_tracker(text, intent, entities, slots)
    )
    return [c["id"] for c in cards_of(messages)], messages[0]["text"], events


# (query, NLU entities, expected ids: the first len(expected) cards in this order, why)
RANKING = [
    (
        "a waterproof jacket under $200",
        {"product_category": "jackets", "budget": "$200"},
        ["stormshell"],
        "the known bad case: Ember Down ($199.20 on sale) used to come first; Stormshell is the "
        "only waterproof jacket within $200 (Tundra Parka is $349)",
    ),
    (
        "ultralight 2-person tent",
        {"product_category": "tents"},
        ["tent-pop-2", "tent-ridge-2", "tent-alpine-2"],
        "no tent is both; capacity (a numeric spec) beats the adjective, so the three 2-person "
        "tents come before the solo Featherlite; then deals (Pop-Up 25% off), then price",
    ),
    (
        "warm sleeping bag for winter",
        {"product_category": "sleeping_bags"},
        ["bag-polar-0"],
        "Polar 0 is tagged winter + insulated: matches both 'warm' and 'winter'; the kids' bag "
        "only says 'warm' in its description, the quilt is for *warm-weather* (not warm)",
    ),
    (
        "trail running shoes size 10",
        {"product_category": "running_shoes", "size": "10"},
        ["swift-trail-runner", "ridge-racer", "mudrunner-gtx"],
        "the three trail shoes all come in 10; new arrivals first (Swift, Ridge), cheaper first; "
        "'running' names the category, it is not a filter",
    ),
    (
        "kids sleeping bag",
        {"product_category": "sleeping_bags"},
        ["bag-dream-kids"],
        "the only kids-tagged bag",
    ),
    (
        "hiking boots for my kid",
        {"product_category": "hiking_boots"},
        ["junior-explorer"],
        "'kid' is a synonym of the kids tag",
    ),
    (
        "waterproof hiking boots",
        {"product_category": "hiking_boots"},
        ["summit-mid-gtx", "canyon-leather", "alpine-pro"],
        "four waterproof boots; the kids' Junior Explorer (25% off) would win on the deal but "
        "nobody asked for kids' boots, so it goes last; then cheaper first",
    ),
    (
        "anything waterproof?",
        {},
        ["stormshell"],
        "no category: all waterproof products, Stormshell *Rain* Jacket says it in its name too",
    ),
    (
        "do you have a down jacket",
        {"product_category": "jackets"},
        ["ember-down"],
        "'down' before a product word is the down tag",
    ),
    (
        "lightweight running shoes",
        {"product_category": "running_shoes"},
        ["ridge-racer", "tempo-flyer"],
        "the two lightweight-tagged shoes; the new arrival before the 15% deal",
    ),
    (
        "a tent for winter",
        {"product_category": "tents"},
        ["tent-alpine-2"],
        "'winter' is satisfied by the 4-season tag",
    ),
    (
        "4 season tent",
        {"product_category": "tents"},
        ["tent-alpine-2"],
        "space instead of hyphen: '4 season' is the '4-season' tag",
    ),
    (
        "sleeping bag for two",
        {"product_category": "sleeping_bags"},
        ["bag-double-35"],
        "'for two' -> 2-person: the Duo 35 double bag",
    ),
    (
        "tents on sale",
        {"product_category": "tents"},
        ["tent-pop-2", "tent-basecamp-4", "tent-trekker-3"],
        "the three discounted tents, biggest discount first",
    ),
    (
        "ultra-light backpack",
        {"product_category": "backpacks"},
        ["ultra-40"],
        "hyphenated spelling of ultralight",
    ),
    (
        "a big family tent",
        {"product_category": "tents"},
        ["tent-basecamp-4"],
        "the family tag (4-person Basecamp)",
    ),
    ("cheap tent", {"product_category": "tents"}, ["tent-pop-2"], "'cheap' -> the budget tag"),
    (
        "fleece jacket",
        {"product_category": "jackets"},
        ["fleece-ridge"],
        "'fleece' also names the jackets category but a jacket has the tag, so it ranks",
    ),
    (
        "what's new in backpacks?",
        {"product_category": "backpacks"},
        ["ultra-40"],
        "the only new-arrival backpack",
    ),
    (
        "anything on sale for kids?",
        {},
        ["junior-explorer"],
        "no category: the only product that is both on sale and for kids",
    ),
    (
        "a warm jacket under $300",
        {"product_category": "jackets", "budget": "$300"},
        ["ember-down"],
        "Tundra Parka is warm too but $349; Ember is $199.20 on sale",
    ),
    (
        "ＷＡＴＥＲＰＲＯＯＦ jacket",
        {"product_category": "jackets"},
        ["stormshell"],
        "full-width letters are normalised (NFKC)",
    ),
]


@pytest.mark.parametrize("text,entities,expected,why", RANKING, ids=[r[0] for r in RANKING])
def test_ranking_table(text, entities, expected, why):
    ids, _, _ = search(text, entities)
    assert ids[: len(expected)] == expected, why


def test_waterproof_jacket_reply_names_the_attribute_and_ranks_honestly():
    events = run_action(
        ActionSearchProducts(),
        make_tracker(
            "a waterproof jacket under $200",
            "find_product",
            {"product_category": "jackets", "budget": "$200"},
        ),
    )
    messages = events[1]
    assert "waterproof jackets under $200" in messages[0]["text"]
    # only one card is waterproof, so the reply says the order means something
    assert "best matches first" in messages[0]["text"]
    cards = cards_of(messages)
    assert cards[0]["reason"].startswith("Waterproof")
    assert all(c["category"] == "jackets" and c["price"] <= 200 for c in cards)


def test_all_cards_matching_uses_the_plain_reply():
    _, text, _ = search("waterproof hiking boots", {"product_category": "hiking_boots"})
    assert text == "Here are some waterproof hiking boots I'd recommend:"


def test_attribute_no_product_has_falls_back_to_the_category_and_says_so():
    ids, text, _ = search("a merino jacket", {"product_category": "jackets"})
    plain, _, _ = search("a jacket", {"product_category": "jackets"})
    assert ids == plain  # ranked as if the attribute were not there
    assert text == (
        "I couldn't find merino jackets — none are merino. These are the closest alternatives:"
    )
    _, text, _ = search("a kids jacket", {"product_category": "jackets"})
    assert "none are for kids" in text


def test_attributes_that_exist_only_apart_are_reported():
    _, text, _ = search("ultralight 2-person tent", {"product_category": "tents"})
    assert "nothing is ultralight and 2-person" in text


def test_anything_waterproof_searches_all_categories_without_setting_a_category():
    ids, text, events = search("anything waterproof?")
    assert len(ids) == 3
    products = {p["id"]: p for p in catalog()}
    assert all("waterproof" in products[i]["tags"] for i in ids)
    assert len({products[i]["category"] for i in ids}) > 1
    assert text == "Here are some waterproof gear I'd recommend:"
    assert "product_category" not in slot_events(events)


def test_slow_down_is_not_a_down_filter():
    # Decision: "down" counts only right before a product word ("down jacket").
    ids, text, _ = search("slow down, I just want a jacket", {"product_category": "jackets"})
    plain, _, _ = search("a jacket", {"product_category": "jackets"})
    assert ids == plain
    assert text == "Here are some jackets I'd recommend:"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "x" * 10_000,
        "🏕️⛺🌧️" * 300,
        "\u0000\u200b\ufeff",
        "ÀÉÎÕÜ ñ ß 漢字 العربية",
        "waterproof " * 2000,
        "-" * 5000,
        "'" * 100,
    ],
)
def test_hostile_text_never_breaks_the_search(text):
    ids, reply, _ = search(text, {"product_category": "tents"})
    assert len(ids) == 3 and reply


def test_long_text_is_scanned_only_at_the_start():
    # 10,000 characters: attributes after the first MAX_ATTRIBUTE_TEXT are ignored.
    text = "a jacket " + "blah " * 2000 + "waterproof"
    assert len(text) > 10_000
    assert cat.extract_attributes(text, catalog()) == ()
    assert cat.extract_attributes("waterproof " + "blah " * 2000, catalog()) == ("waterproof",)


def test_empty_text_and_no_category_still_asks_for_one():
    _, messages = run_action(ActionSearchProducts(), make_tracker("", "find_product"))
    assert messages[0]["text"].startswith("Happy to help!")
    assert not cards_of(messages)


# ---------- refinements: attributes carry over like colour and size ----------


def conversation(
    turns: list[tuple[str, str, dict[str, Any], dict[str, Any]]], slots: dict[str, Any]
) -> Tracker:
    """A tracker whose events are the given turns ``(text, intent, entities,
    slots set after it)``; the last turn is the latest message."""
    events: list[dict[str, Any]] = [{"event": "session_started"}]
    parse: dict[str, Any] = {}
    for text, intent, entities, after in turns:
        ents = [{"entity": k, "value": v} for k, v in entities.items()]
        parse = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": ents}
        events.append({"event": "user", "text": text, "parse_data": parse})
        events.extend({"event": "slot", "name": k, "value": v} for k, v in after.items())
    return Tracker(
        sender_id="test-visitor",
        slots=dict(slots),
        latest_message=parse,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def test_lighter_ones_refines_a_waterproof_search():
    t = conversation(
        [
            (
                "a waterproof jacket",
                "find_product",
                {"product_category": "jackets"},
                {"product_category": "jackets"},
            ),
            ("any lighter ones?", "find_product", {}, {}),
        ],
        slots={"product_category": "jackets"},
    )
    _, messages = run_action(ActionSearchProducts(), t)
    # No jacket is both waterproof and light: the newest wish wins the tie, so the
    # lightweight Breeze comes first, then the waterproof ones (Stormshell says
    # "Rain" in its name, then the new Tundra Parka); and the reply says so.
    assert messages[0]["text"].startswith(
        "I couldn't find waterproof lightweight jackets — nothing is waterproof and lightweight."
    )
    assert [c["id"] for c in cards_of(messages)] == ["breeze-wind", "stormshell", "tundra-parka"]
    assert "Based on what you've been looking at" not in messages[0]["text"]


def test_a_waterproof_one_refines_the_category_and_keeps_the_budget():
    t = conversation(
        [
            (
                "hiking boots under $200",
                "find_product",
                {"product_category": "hiking_boots", "budget": "$200"},
                {"product_category": "hiking_boots", "budget": 200.0},
            ),
            ("a waterproof one", "inform", {}, {}),
        ],
        slots={"product_category": "hiking_boots", "budget": 200.0},
    )
    _, messages = run_action(ActionSearchProducts(), t)
    assert "waterproof hiking boots under $200" in messages[0]["text"]
    # Summit Mid ($189) and Junior Explorer ($51.75) are the waterproof ones within
    # budget; the kids' boot goes after because nobody asked for kids.
    assert [c["id"] for c in cards_of(messages)][:2] == ["summit-mid-gtx", "junior-explorer"]


def test_colour_refinement_after_anything_waterproof_keeps_the_attribute():
    t = conversation(
        [
            ("anything waterproof?", "find_product", {}, {}),
            ("in red", "inform", {"color": "red"}, {"color": "red"}),
        ],
        slots={"color": "red"},
    )
    _, messages = run_action(ActionSearchProducts(), t)
    products = {p["id"]: p for p in catalog()}
    ids = [c["id"] for c in cards_of(messages)]
    assert ids and all(
        "waterproof" in products[i]["tags"] and "red" in products[i]["colors"] for i in ids
    )
    assert "red waterproof gear" in messages[0]["text"]


def test_picking_a_category_after_anything_waterproof_keeps_the_attribute():
    t = conversation(
        [
            ("anything waterproof?", "find_product", {}, {}),
            (
                "backpacks",
                "inform",
                {"product_category": "backpacks"},
                {"product_category": "backpacks"},
            ),
        ],
        slots={"product_category": "backpacks"},
    )
    _, messages = run_action(ActionSearchProducts(), t)
    assert next(c["id"] for c in cards_of(messages)) == "summit-30"


def test_a_new_category_starts_over_without_the_old_attributes():
    t = conversation(
        [
            (
                "a waterproof jacket",
                "find_product",
                {"product_category": "jackets"},
                {"product_category": "jackets"},
            ),
            ("any lighter ones?", "find_product", {}, {"product_category": "jackets"}),
            (
                "show me tents",
                "find_product",
                {"product_category": "tents"},
                {"product_category": "tents"},
            ),
        ],
        slots={"product_category": "tents"},
    )
    _, messages = run_action(ActionSearchProducts(), t)
    assert messages[0]["text"] == "Here are some tents I'd recommend:"


def test_other_intents_do_not_add_attributes():
    t = conversation(
        [
            (
                "jackets",
                "find_product",
                {"product_category": "jackets"},
                {"product_category": "jackets"},
            ),
            ("do you ship rain gear to Canada?", "ask_shipping", {}, {}),
            ("in red", "inform", {"color": "red"}, {"color": "red"}),
        ],
        slots={"product_category": "jackets", "color": "red"},
    )
    _, messages = run_action(ActionSearchProducts(), t)
    assert messages[0]["text"] == "Here are some red jackets I'd recommend:"


def test_decline_keeps_the_attributes_of_the_search():
    t = conversation(
        [
            (
                "waterproof boots",
                "find_product",
                {"product_category": "hiking_boots"},
                {"product_category": "hiking_boots"},
            ),
            ("no", "deny", {}, {}),
        ],
        slots={"product_category": "hiking_boots"},
    )
    t.events.insert(
        -1,
        {
            "event": "bot",
            "data": {"custom": {"type": "product_cards", "products": [{"id": "summit-mid-gtx"}]}},
        },
    )
    _, messages = run_action(ActionDeclineProducts(), t)
    assert "waterproof hiking boots" in messages[0]["text"]
    assert next(c["id"] for c in cards_of(messages)) == "canyon-leather"


# ---------- the extractor on its own ----------


@pytest.mark.parametrize(
    "text,expected",
    [
        ("a waterproof jacket", ("waterproof",)),
        ("WATERPROOF Jacket", ("waterproof",)),
        ("water proof jacket", ("waterproof",)),
        ("water-proof jacket", ("waterproof",)),
        ("rainproof shell", ("waterproof",)),
        ("something for the rain", ("waterproof",)),
        ("a lightweight pack", ("lightweight",)),
        ("featherweight jacket", ("lightweight",)),
        ("any lighter ones?", ("lightweight",)),
        ("a light tent", ("lightweight",)),
        ("light blue jacket", ()),  # a colour shade, not weight
        ("ultralight 2-person tent", ("ultralight", "2-person")),
        ("ultra light two person tent", ("ultralight", "2-person")),
        ("2 person tent", ("2-person",)),
        ("2p tent", ("2-person",)),
        ("a tent for two", ("2-person",)),
        ("a backpack for two weeks", ()),  # time, not people
        ("2-person tents", ("2-person",)),
        ("warm sleeping bag for winter", ("warm", "winter")),
        ("cold weather boots", ("warm",)),
        ("for my kids", ("kids",)),
        ("children's sleeping bag", ("kids",)),
        ("kids' boots", ("kids",)),
        ("on sale", ("sale",)),
        ("any discounts?", ("sale",)),
        ("what's new?", ("new",)),
        ("the latest jackets", ("new",)),
        ("new boots", ("new",)),
        ("I'm new to hiking", ()),
        ("down jacket", ("down",)),
        ("a down sleeping bag", ("down",)),
        ("slow down", ()),
        ("slow down, I want a jacket", ()),
        ("my budget is 200", ()),
        ("a budget tent", ("budget",)),
        ("3 season tents", ("3-season",)),
        ("three-season tent", ("3-season",)),
        ("mid cut boots", ("mid-cut",)),
        ("women's jacket", ()),  # the catalog has no gender info: not an attribute (yet)
        ("", ()),
        (None, ()),
    ],
)
def test_extract_attributes(text, expected):
    assert cat.extract_attributes(text, catalog()) == expected


def test_vocabulary_comes_from_the_catalog():
    """A shop owner who tags products gets the attribute, synonyms included."""
    products = [dict(p) for p in catalog()]
    assert cat.extract_attributes("a vegan jacket", products) == ()
    assert cat.extract_attributes("ladies jacket", products) == ()
    stormshell = next(p for p in products if p["id"] == "stormshell")
    stormshell["tags"] = stormshell["tags"] + ["vegan", "women's"]
    assert cat.extract_attributes("a vegan jacket", products) == ("vegan",)
    assert cat.extract_attributes("ladies jacket", products) == ("women's",)
    assert cat.extract_attributes("womens jackets", products) == ("women's",)
    found = cat.filter_products(products, cat.Criteria(category="jackets", attributes=("women's",)))
    assert found[0]["id"] == "stormshell"


def test_category_words_are_not_attributes_of_their_own_category():
    products = catalog()
    assert cat.drop_category_words(products, ("trail", "running"), "running_shoes") == ("trail",)
    assert cat.drop_category_words(products, ("fleece",), "jackets") == ("fleece",)
    assert cat.drop_category_words(products, ("running",), None) == ("running",)


def test_all_matches_before_fewer():
    criteria = cat.Criteria(category="jackets", attributes=("waterproof", "warm"))
    ranked = cat.filter_products(catalog(), criteria)
    counts = [-cat.attribute_rank(p, criteria.attributes)[0] for p in ranked]
    assert counts == sorted(counts, reverse=True)
    assert ranked[0]["id"] == "tundra-parka"  # the only waterproof *and* warm jacket


def test_describe_names_the_attributes():
    assert (
        describe(cat.Criteria(category="jackets", max_price=200, attributes=("waterproof",)))
        == "waterproof jackets under $200"
    )
    assert (
        describe(cat.Criteria(category="tents", attributes=("ultralight", "2-person")))
        == "ultralight 2-person tents"
    )
    assert (
        describe(cat.Criteria(category="sleeping_bags", color="blue", attributes=("kids", "sale")))
        == "blue sleeping bags for kids on sale"
    )
    assert describe(cat.Criteria(attributes=("waterproof",))) == "waterproof gear"
    assert describe(cat.Criteria(category="tents")) == "tents"
