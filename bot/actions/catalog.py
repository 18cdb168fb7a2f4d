"""Catalog queries: normalisation, filtering, ranking. Pure functions.

Products are plain dicts as stored in ``bot/data/catalog.json``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence

Product = Dict[str, Any]

CATEGORY_LABELS: Dict[str, str] = {
    "running_shoes": "running shoes",
    "hiking_boots": "hiking boots",
    "jackets": "jackets",
    "backpacks": "backpacks",
    "tents": "tents",
    "sleeping_bags": "sleeping bags",
    "accessories": "accessories",
}

# Fallback normalisation for values the NLU synonyms did not map (the
# EntitySynonymMapper does most of the work). Checked as substrings, in order.
_CATEGORY_KEYWORDS = [
    ("sleeping bag", "sleeping_bags"), ("sleepingbag", "sleeping_bags"),
    ("quilt", "sleeping_bags"), ("running", "running_shoes"),
    ("trail runner", "running_shoes"), ("sneaker", "running_shoes"),
    ("trainer", "running_shoes"), ("hiking boot", "hiking_boots"),
    ("boot", "hiking_boots"), ("jacket", "jackets"), ("coat", "jackets"),
    ("parka", "jackets"), ("shell", "jackets"), ("fleece", "jackets"),
    ("backpack", "backpacks"), ("pack", "backpacks"), ("rucksack", "backpacks"),
    ("tent", "tents"), ("shelter", "tents"), ("accessor", "accessories"),
    ("headlamp", "accessories"), ("sock", "accessories"), ("stove", "accessories"),
    ("pole", "accessories"), ("filter", "accessories"), ("shoe", "running_shoes"),
]

_COLOR_ALIASES = {
    "gray": "grey", "navy": "blue", "olive": "green", "khaki": "green",
    "charcoal": "grey", "silver": "grey", "tan": "brown", "crimson": "red",
}

_SIZE_ALIASES = {
    "extra small": "XS", "xsmall": "XS", "small": "S", "medium": "M",
    "med": "M", "large": "L", "extra large": "XL", "xlarge": "XL",
    "xxl": "XXL", "2xl": "XXL",
}

_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(k\b)?", re.IGNORECASE)


def normalize_category(value: Optional[str]) -> Optional[str]:
    """Map a free-form category mention to a catalog key, or ``None``."""
    if not value:
        return None
    text = str(value).strip().lower().replace("-", " ")
    key = text.replace(" ", "_")
    if key in CATEGORY_LABELS:
        return key
    for keyword, category in _CATEGORY_KEYWORDS:
        if keyword in text:
            return category
    return None


def normalize_color(value: Optional[str]) -> Optional[str]:
    if not value:
        return None
    color = str(value).strip().lower()
    return _COLOR_ALIASES.get(color, color)


def normalize_size(value: Optional[str]) -> Optional[str]:
    if not value:
        return None
    size = str(value).strip().lower()
    size = re.sub(r"^(size|sz)\s*", "", size)
    if size in _SIZE_ALIASES:
        return _SIZE_ALIASES[size]
    return size.upper() if size.isalpha() or "/" in size else size


_NEGATIVE = re.compile(r"(^|[^\w])-\s*\$?\s*\d|\bminus\b|\bnegative\b", re.IGNORECASE)
MAX_BUDGET = 100_000.0


def parse_budget(value: Any) -> Optional[float]:
    """Extract an amount in dollars from ``"under $200"``, ``"1,200"``, ``"around 1k"``…

    Returns ``None`` for anything that is not a positive, plausible amount
    (``"-50"``, ``"minus 20"``, ``"$0"``, ``"cheap"``, absurd sums).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if 0 < value <= MAX_BUDGET else None
    text = str(value)
    if _NEGATIVE.search(text):
        return None
    match = _NUMBER.search(text)
    if not match:
        return None
    amount = float(match.group(1).replace(",", ""))
    if match.group(2):
        amount *= 1000
    return amount if 0 < amount <= MAX_BUDGET else None


@dataclass
class Criteria:
    category: Optional[str] = None
    color: Optional[str] = None
    size: Optional[str] = None
    max_price: Optional[float] = None

    def without(self, name: str) -> "Criteria":
        values = dict(self.__dict__)
        values[name] = None
        return Criteria(**values)


@dataclass
class SearchResult:
    products: List[Product]
    exact: bool
    relaxed: List[str] = field(default_factory=list)  # filters dropped to find these


def matches(product: Product, criteria: Criteria) -> bool:
    if criteria.category and product["category"] != criteria.category:
        return False
    if criteria.color and criteria.color not in product.get("colors", []):
        return False
    if criteria.size:
        sizes = [str(s).lower() for s in product.get("sizes", [])]
        if criteria.size.lower() not in sizes:
            return False
    if criteria.max_price is not None and sale_price(product) > criteria.max_price:
        return False
    return True


def sale_price(product: Product) -> float:
    discount = product.get("discount_percent") or 0
    return round(float(product["price"]) * (100 - discount) / 100, 2)


@dataclass
class Profile:
    """What the bot remembers about a visitor that shapes recommendations."""

    interests: List[str] = field(default_factory=list)   # category keys, most recent first
    colors: List[str] = field(default_factory=list)      # preferred colours
    sizes: List[str] = field(default_factory=list)       # preferred sizes
    recommended: List[str] = field(default_factory=list)  # product ids already shown
    clicked: List[str] = field(default_factory=list)     # product ids clicked in the widget
    declined: List[str] = field(default_factory=list)    # product ids turned down: never again


def _has_size(product: Product, size: str) -> bool:
    return str(size).lower() in [str(s).lower() for s in product.get("sizes", [])]


def clicked_products(products: Sequence[Product], profile: Optional[Profile]) -> List[Product]:
    if not profile or not profile.clicked:
        return []
    clicked = set(profile.clicked)
    return [p for p in products if p["id"] in clicked]


def score(product: Product, criteria: Criteria, profile: Optional[Profile] = None,
          clicked: Sequence[Product] = ()) -> float:
    """Higher is better. Deals and new arrivals up; within a budget, prefer using it;
    the visitor's interests, colours, sizes and clicks up; repeats down."""
    s = (product.get("discount_percent") or 0) / 100 + (0.3 if product.get("new_arrival") else 0)
    if criteria.max_price:
        s += 0.5 * min(sale_price(product) / criteria.max_price, 1.0)
    if profile is None:
        return s
    if not criteria.category and product["category"] in profile.interests:
        # most recent interest counts most
        s += 1.2 - 0.3 * min(profile.interests.index(product["category"]), 3)
    if not criteria.color and any(c in product.get("colors", []) for c in profile.colors):
        s += 0.2
    if not criteria.size and any(_has_size(product, z) for z in profile.sizes):
        s += 0.1
    for other in clicked:
        if other["id"] == product["id"]:
            s += 0.6
        elif other["category"] == product["category"]:
            shared = len(set(other.get("tags", [])) & set(product.get("tags", [])))
            s += 0.15 + 0.05 * min(shared, 3)
    if product["id"] in profile.recommended:
        # already shown: alternatives first (but one they clicked stays a candidate)
        s -= 0.3 if product["id"] in profile.clicked else 1.5
    return s


def rank(products: Iterable[Product], criteria: Criteria,
         profile: Optional[Profile] = None, clicked: Sequence[Product] = ()) -> List[Product]:
    """Best first (see :func:`score`); ties broken by price then id."""
    return sorted(products, key=lambda p: (-score(p, criteria, profile, clicked),
                                           sale_price(p), p["id"]))


def filter_products(products: Sequence[Product], criteria: Criteria,
                    profile: Optional[Profile] = None) -> List[Product]:
    clicked = clicked_products(products, profile)
    declined = set(profile.declined) if profile else set()
    return rank((p for p in products if p["id"] not in declined and matches(p, criteria)),
                criteria, profile, clicked)


def search(products: Sequence[Product], criteria: Criteria, limit: int = 3,
           profile: Optional[Profile] = None) -> SearchResult:
    """Exact matches, or the closest alternatives with filters relaxed.

    Filters are dropped size → colour → budget (the category is kept), so the
    visitor sees the right kind of product rather than nothing. Products the
    visitor declined are never returned; already recommended ones only when
    there is nothing else.
    """
    found = filter_products(products, criteria, profile)
    if found:
        return SearchResult(found[:limit], exact=True)
    relaxed: List[str] = []
    current = criteria
    for name in ("size", "color", "max_price"):
        if getattr(current, name) is None:
            continue
        current = current.without(name)
        relaxed.append(name)
        found = filter_products(products, current, profile)
        if found:
            if "max_price" in relaxed:
                found.sort(key=sale_price)  # nearest to the budget first
            return SearchResult(found[:limit], exact=False, relaxed=relaxed)
    return SearchResult([], exact=False, relaxed=relaxed)


def _feature(product: Product) -> Optional[str]:
    """A short distinguishing feature from the tags (``2-person``, ``65L``…)."""
    for tag in product.get("tags", []):
        if re.search(r"\d", str(tag)):
            return str(tag)
    return None


def reason(product: Product, criteria: Criteria, profile: Optional[Profile] = None,
           clicked: Sequence[Product] = ()) -> str:
    """One short phrase saying why this product fits, e.g.
    ``"2-person, under your $300 budget, 15% off this week"``."""
    parts: List[str] = []
    price = sale_price(product)
    feature = _feature(product)
    if feature:
        parts.append(feature)
    if criteria.max_price is not None:
        if price <= criteria.max_price:
            parts.append(f"under your ${criteria.max_price:g} budget")
        else:
            parts.append(f"${price - criteria.max_price:g} over your budget")
    if criteria.color:
        if criteria.color in product.get("colors", []):
            parts.append(f"comes in {criteria.color}")
        else:
            parts.append(f"not in {criteria.color}, but in {', '.join(product['colors'])}")
    elif profile and profile.colors:
        liked = [c for c in profile.colors if c in product.get("colors", [])]
        if liked:
            parts.append(f"comes in {liked[0]}, your colour")
    if criteria.size:
        if _has_size(product, criteria.size):
            parts.append(f"available in size {criteria.size}")
        else:
            parts.append(f"no size {criteria.size}")
    if product.get("discount_percent"):
        parts.append(f"{product['discount_percent']}% off this week")
    if product.get("new_arrival"):
        parts.append("new arrival")
    if profile and profile.clicked:
        if product["id"] in profile.clicked:
            parts.append("you looked at this one")
        elif any(p["category"] == product["category"] for p in clicked):
            parts.append("similar to what you looked at")
    if len(parts) <= (1 if feature else 0):
        parts.append(product["description"].rstrip("."))
    text = ", ".join(parts[:4])
    return text[0].upper() + text[1:]


def card(product: Product, criteria: Criteria, profile: Optional[Profile] = None,
         clicked: Sequence[Product] = ()) -> Dict[str, Any]:
    """The product-card payload the widget renders."""
    return {
        "id": product["id"],
        "name": product["name"],
        "category": product["category"],
        "price": sale_price(product),
        "currency": "USD",
        "image": product["image"],
        "url": product["url"],
        "description": product["description"],
        "colors": list(product.get("colors", [])),
        "reason": reason(product, criteria, profile, clicked),
    }


def greeting_offer(products: Sequence[Product], category: str, budget: Optional[float] = None,
                   declined: Iterable[str] = ()) -> Optional[Product]:
    """A real promotion (biggest discount) or else a new arrival in ``category``,
    within ``budget`` if known, never a declined product."""
    declined = set(declined)
    pool = [p for p in products if p["category"] == category and p["id"] not in declined
            and (budget is None or sale_price(p) <= budget)]
    deals = sorted((p for p in pool if p.get("discount_percent")),
                   key=lambda p: (-p["discount_percent"], sale_price(p), p["id"]))
    if deals:
        return deals[0]
    news = sorted((p for p in pool if p.get("new_arrival")), key=lambda p: (sale_price(p), p["id"]))
    return news[0] if news else None


def short_name(product: Product) -> str:
    """``"Ridge 2 Tent"`` -> ``"Ridge 2"`` (drop the category word at the end)."""
    words = product["name"].split()
    if len(words) > 1 and words[-1].lower().rstrip("s") in _GENERIC_NAME_WORDS:
        words = words[:-1]
    return " ".join(words)


def price_range(products: Sequence[Product], category: Optional[str] = None) -> Optional[tuple]:
    """(min, max, count) of current prices, optionally within a category."""
    prices = [sale_price(p) for p in products if not category or p["category"] == category]
    if not prices:
        return None
    return min(prices), max(prices), len(prices)


_GENERIC_NAME_WORDS = {
    "tent", "bag", "jacket", "boot", "shoe", "the", "down", "synthetic", "pack",
}


def find_by_name(products: Sequence[Product], text: Optional[str]) -> Optional[Product]:
    """The product whose distinctive name words all occur in ``text``."""
    if not text:
        return None
    words = set(re.findall(r"[a-z0-9]+", text.lower()))
    best, best_len = None, 0
    for p in products:
        name_words = [w for w in re.findall(r"[a-z0-9]+", p["name"].lower())
                      if w not in _GENERIC_NAME_WORDS]
        if name_words and all(w in words for w in name_words) and len(name_words) > best_len:
            best, best_len = p, len(name_words)
    return best
