"""Pure catalog functions: normalisation, budget parsing, filtering, ranking."""

import pytest

from actions import catalog as cat
from actions.data import catalog

CATEGORIES = set(cat.CATEGORY_LABELS)


def test_catalog_file_is_complete():
    products = catalog()
    assert len(products) >= 42
    for key in CATEGORIES:
        assert sum(p["category"] == key for p in products) >= 5, key
    required = {
        "id",
        "name",
        "category",
        "price",
        "colors",
        "sizes",
        "tags",
        "description",
        "url",
        "image",
        "new_arrival",
        "discount_percent",
    }
    for p in products:
        assert required <= set(p), p["id"]
        assert p["category"] in CATEGORIES
        assert p["url"] == f"/#product-{p['id']}"
        assert p["image"] == f"/static/products/{p['category']}.svg"
        assert all(c == c.lower() for c in p["colors"])
    assert len({p["id"] for p in products}) == len(products)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("under $200", 200.0),
        ("200 dollars", 200.0),
        ("$1,200", 1200.0),
        ("about 150", 150.0),
        ("1.5k", 1500.0),
        ("99.50", 99.5),
        (120, 120.0),
        ("cheap", None),
        (None, None),
        ("$0", None),
    ],
)
def test_parse_budget(text, expected):
    assert cat.parse_budget(text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("tents", "tents"),
        ("2-person tent", "tents"),
        ("Trail runners", "running_shoes"),
        ("sleeping bag", "sleeping_bags"),
        ("hiking_boots", "hiking_boots"),
        ("rain jacket", "jackets"),
        ("daypack", "backpacks"),
        ("banana", None),
        (None, None),
    ],
)
def test_normalize_category(text, expected):
    assert cat.normalize_category(text) == expected


def test_normalize_color_and_size():
    assert cat.normalize_color("Gray") == "grey"
    assert cat.normalize_color("navy") == "blue"
    assert cat.normalize_size("medium") == "M"
    assert cat.normalize_size("size 10") == "10"
    assert cat.normalize_size("xl") == "XL"


def test_filter_by_category_color_and_budget():
    criteria = cat.Criteria(category="tents", color="green", max_price=400)
    found = cat.filter_products(catalog(), criteria)
    assert found, "expected green tents under $400"
    for p in found:
        assert p["category"] == "tents"
        assert "green" in p["colors"]
        assert cat.sale_price(p) <= 400
    # Basecamp 4 is $449 but 15% off ($381.65): the sale price counts.
    assert "tent-basecamp-4" in {p["id"] for p in found}
    assert "tent-alpine-2" not in {p["id"] for p in found}


def test_filter_by_size():
    found = cat.filter_products(catalog(), cat.Criteria(category="running_shoes", size="12"))
    assert {p["id"] for p in found} == {"swift-trail-runner", "mudrunner-gtx"}


def test_search_relaxes_filters_when_nothing_matches():
    criteria = cat.Criteria(category="tents", color="pink", max_price=50)
    result = cat.search(catalog(), criteria, limit=3)
    assert not result.exact
    assert result.relaxed == ["color", "max_price"]
    assert result.products and all(p["category"] == "tents" for p in result.products)
    # closest to the budget first
    prices = [cat.sale_price(p) for p in result.products]
    assert prices == sorted(prices)


def test_card_has_contract_fields_and_reason():
    product = next(p for p in catalog() if p["id"] == "tent-pop-2")
    card = cat.card(product, cat.Criteria(category="tents", color="blue", max_price=150))
    assert set(card) == {
        "id",
        "name",
        "category",
        "price",
        "currency",
        "image",
        "url",
        "description",
        "colors",
        "reason",
    }
    assert card["currency"] == "USD"
    assert card["price"] == pytest.approx(96.75)  # $129 - 25%
    assert card["reason"] == "2-person, under your $150 budget, comes in blue, 25% off this week"
    assert "blue" in card["reason"]


def test_find_by_name():
    assert cat.find_by_name(catalog(), "how much is the Ridge 2 tent?")["id"] == "tent-ridge-2"
    assert cat.find_by_name(catalog(), "how much are tents") is None


def test_price_range():
    low, high, count = cat.price_range(catalog(), "tents")
    assert count == 6 and low < high


def test_attributes_rank_but_do_not_filter_within_a_category():
    plain = cat.filter_products(catalog(), cat.Criteria(category="jackets", max_price=200))
    ranked = cat.filter_products(
        catalog(), cat.Criteria(category="jackets", max_price=200, attributes=("waterproof",))
    )
    assert {p["id"] for p in ranked} == {p["id"] for p in plain}
    assert ranked[0]["id"] == "stormshell"


def test_relaxed_budget_keeps_attribute_order_before_price():
    criteria = cat.Criteria(category="jackets", max_price=50, attributes=("waterproof",))
    result = cat.search(catalog(), criteria, limit=3)
    assert result.relaxed == ["max_price"]
    assert [p["id"] for p in result.products][:2] == ["stormshell", "tundra-parka"]


def test_reason_mentions_matched_attributes():
    stormshell = next(p for p in catalog() if p["id"] == "stormshell")
    criteria = cat.Criteria(category="jackets", max_price=200, attributes=("waterproof",))
    assert cat.reason(stormshell, criteria) == "Waterproof, under your $200 budget"
