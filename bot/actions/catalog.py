"""Catalog queries: normalisation, filtering, ranking. Pure functions.

Products are plain dicts as stored in ``bot/data/catalog.json``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

Product = dict[str, Any]

CATEGORY_LABELS: dict[str, str] = {
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
    ("sleeping bag", "sleeping_bags"),
    ("sleepingbag", "sleeping_bags"),
    ("quilt", "sleeping_bags"),
    ("running", "running_shoes"),
    ("trail runner", "running_shoes"),
    ("sneaker", "running_shoes"),
    ("trainer", "running_shoes"),
    ("hiking boot", "hiking_boots"),
    ("boot", "hiking_boots"),
    ("jacket", "jackets"),
    ("coat", "jackets"),
    ("parka", "jackets"),
    ("shell", "jackets"),
    ("fleece", "jackets"),
    ("backpack", "backpacks"),
    ("pack", "backpacks"),
    ("rucksack", "backpacks"),
    ("tent", "tents"),
    ("shelter", "tents"),
    ("accessor", "accessories"),
    ("headlamp", "accessories"),
    ("sock", "accessories"),
    ("stove", "accessories"),
    ("pole", "accessories"),
    ("filter", "accessories"),
    ("shoe", "running_shoes"),
]

_COLOR_ALIASES = {
    "gray": "grey",
    "navy": "blue",
    "olive": "green",
    "khaki": "green",
    "charcoal": "grey",
    "silver": "grey",
    "tan": "brown",
    "crimson": "red",
}

_SIZE_ALIASES = {
    "extra small": "XS",
    "xsmall": "XS",
    "small": "S",
    "medium": "M",
    "med": "M",
    "large": "L",
    "extra large": "XL",
    "xlarge": "XL",
    "xxl": "XXL",
    "2xl": "XXL",
}

_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(k\b)?", re.IGNORECASE)


def normalize_category(value: str | None) -> str | None:
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


def normalize_color(value: str | None) -> str | None:
    if not value:
        return None
    color = str(value).strip().lower()
    return _COLOR_ALIASES.get(color, color)


def normalize_size(value: str | None) -> str | None:
    if not value:
        return None
    size = str(value).strip().lower()
    size = re.sub(r"^(size|sz)\s*", "", size)
    if size in _SIZE_ALIASES:
        return _SIZE_ALIASES[size]
    return size.upper() if size.isalpha() or "/" in size else size


_NEGATIVE = re.compile(r"(^|[^\w])-\s*\$?\s*\d|\bminus\b|\bnegative\b", re.IGNORECASE)
MAX_BUDGET = 100_000.0


def parse_budget(value: Any) -> float | None:
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
    category: str | None = None
    color: str | None = None
    size: str | None = None
    max_price: float | None = None
    # Canonical attributes ("waterproof", "2-person"…, see extract_attributes):
    # a soft preference that orders results, not a filter.
    attributes: tuple[str, ...] = ()

    def without(self, name: str) -> Criteria:
        values = dict(self.__dict__)
        values[name] = () if name == "attributes" else None
        return Criteria(**values)


@dataclass
class SearchResult:
    products: list[Product]
    exact: bool
    relaxed: list[str] = field(default_factory=list)  # filters dropped to find these
    # requested attributes that no candidate product has (so the reply can say so)
    unmatched: list[str] = field(default_factory=list)


# ---------- attributes: what the visitor wants the product to *be* ----------
#
# Attributes come from the catalog's own tags: a tag "packable" is understood
# as "packable"/"packables" with no code change, so a shop owner who edits
# catalog.json gets new attributes for free. The table below is the only
# hand-written part: what visitors say for an attribute, and which other tags
# also satisfy it. A canonical attribute is only recognised while the catalog
# can satisfy it (its own tag, an ``also`` tag, or a flag such as
# ``discount_percent``), so e.g. "women's" starts to work the day products are
# tagged "women's" - until then "women's jackets" is simply "jackets".
#
#   canonical attribute: ((what visitors say…), (other tags that satisfy it…))
ATTRIBUTE_SYNONYMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "waterproof": (("rain", "rainproof", "water proof", "wet weather", "stormproof"), ()),
    "lightweight": (
        ("light", "lighter", "lightest", "light weight", "featherweight", "feather light"),
        ("ultralight",),
    ),
    "ultralight": (("ultra light", "ul", "superlight", "super light"), ()),
    "2-person": (
        ("2 people", "2 persons", "for 2", "2p", "2 man", "double", "couple", "couples"),
        (),
    ),
    "warm": (("warmer", "warmest", "cold weather", "freezing"), ("insulated", "winter")),
    "winter": (("snow", "snowy"), ("4-season", "insulated")),
    "kids": (("kid", "child", "children", "childrens", "junior", "youth"), ()),
    "women's": (("women", "woman", "ladies", "lady", "female"), ()),
    "sale": (("on sale", "discount", "discounted", "deal", "deals", "clearance", "reduced"), ()),
    "new": (
        (
            "new arrival",
            "latest",
            "newest",
            "just in",
            "whats new",
            "anything new",
            "something new",
        ),
        (),
    ),
    "budget": (("cheap", "affordable", "inexpensive"), ()),
}

# Words that are attributes only right before a product word or another
# attribute ("down jacket", "new waterproof boots"), because on their own they
# are usually something else: "slow down", "I'm new to hiking", "light blue",
# "my budget is", "water bottle", "double check". Guarded words are also never
# looked for in product descriptions ("great value for new runners").
_NEEDS_NOUN = {"down", "new", "light", "budget", "water", "ul", "double"}
# "for two" means two people, but not in "a pack for two weeks".
_NOT_BEFORE_TIME = {"for 2"}
_TIME_WORDS = {
    "day",
    "days",
    "night",
    "nights",
    "week",
    "weeks",
    "weekend",
    "weekends",
    "month",
    "months",
    "year",
    "years",
    "hour",
    "hours",
    "minute",
    "minutes",
}
# Words after which a guarded word is an attribute, besides the category words.
_EXTRA_NOUNS = {
    "one",
    "ones",
    "gear",
    "stuff",
    "arrival",
    "arrivals",
    "item",
    "items",
    "product",
    "products",
    "option",
    "options",
    "model",
    "models",
    "thing",
    "things",
    "kit",
    "puffer",
    "vest",
    "pad",
    "filter",
    "shoes",
    "bag",
    "bags",
}
# Tags that say who a product is for: such a product ranks after the others
# unless the visitor asked for that audience (no kids' boots for "hiking boots").
AUDIENCE_TAGS = {"kids", "women's", "men's"}
# How an attribute reads after the category ("jackets for kids"); others go before.
_SUFFIX_LABELS = {"kids": "for kids", "sale": "on sale"}
# Longer messages are cut: nobody names a product attribute after 2,000
# characters, and the scan stays cheap whatever a visitor pastes.
MAX_ATTRIBUTE_TEXT = 2000
_NUMBER_WORDS = {"two": "2", "three": "3", "four": "4"}


def _tokens(text: str) -> list[str]:
    """Lower-case word tokens: Unicode-normalised (full-width letters…), apostrophes
    dropped ("women's" -> "womens", "kids'" -> "kids"), hyphens and punctuation as
    separators ("2-person" -> "2", "person"), number words as digits."""
    text = unicodedata.normalize("NFKC", str(text)).lower()
    text = re.sub(r"['’`]", "", text)
    words = re.findall(r"[^\W_]+", text)
    out = []
    for i, word in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if word in _NUMBER_WORDS:
            word = _NUMBER_WORDS[word]
        elif word == "one" and nxt in ("person", "people", "man"):
            word = "1"  # not otherwise: "a waterproof one" is a pronoun
        out.append(word)
    return out


@lru_cache(maxsize=1024)  # phrases come from the catalog and the table: a bounded set
def _variants(phrase: str) -> tuple[tuple[str, ...], ...]:
    """Token forms of a phrase: as is, plural, and run together ("2person")."""
    words = tuple(_tokens(phrase))
    if not words:
        return ()
    forms = [words, (*words[:-1], words[-1] + "s")]
    if len(words) > 1:
        forms.append(("".join(words),))
    return tuple(forms)


def _available(products: Sequence[Product]) -> set:
    """Attributes the catalog can satisfy: its tags plus the sale/new flags."""
    tags = {str(t).strip().lower() for p in products for t in p.get("tags", [])}
    if any(p.get("discount_percent") for p in products):
        tags.add("sale")
    if any(p.get("new_arrival") for p in products):
        tags.add("new")
    return {t for t in tags if t}


def _satisfying_tags(attribute: str) -> set:
    return {attribute, *ATTRIBUTE_SYNONYMS.get(attribute, ((), ()))[1]}


def attribute_vocabulary(products: Sequence[Product]) -> dict[tuple[str, ...], tuple[str, str]]:
    """Token phrase -> (canonical attribute, the phrase as written, for guards).

    Built from the catalog every time (a few hundred entries, microseconds),
    so edits to catalog.json apply without a restart of this logic.
    """
    available = _available(products)
    vocabulary: dict[tuple[str, ...], tuple[str, str]] = {}
    for tag in sorted(available):
        for form in _variants(tag):
            vocabulary[form] = (tag, " ".join(_tokens(tag)))
    # The table wins over a tag of the same spelling: it was written on purpose.
    for canonical, (phrases, _also) in ATTRIBUTE_SYNONYMS.items():
        if not (_satisfying_tags(canonical) & available):
            continue
        for phrase in (canonical, *phrases):
            for form in _variants(phrase):
                vocabulary[form] = (canonical, " ".join(_tokens(phrase)))
    return vocabulary


def _nouns() -> set:
    """Product words after which a guarded word ("down", "new"…) is an attribute."""
    words = set(_EXTRA_NOUNS)
    for label in CATEGORY_LABELS.values():
        words.update(_tokens(label))
    for keyword, _ in _CATEGORY_KEYWORDS:
        words.update(_tokens(keyword))
    return words | {w + "s" for w in words} | {w + "es" for w in words}


def _guard_ok(written: str, following: str | None, nouns: set, first_words: set) -> bool:
    if written in _NEEDS_NOUN:
        return following is not None and (following in nouns or following in first_words)
    if written in _NOT_BEFORE_TIME:
        return following not in _TIME_WORDS
    return True


def extract_attributes(text: str | None, products: Sequence[Product]) -> tuple[str, ...]:
    """Canonical attributes mentioned in ``text``, in order, without duplicates.

    ``"Ultra-light 2 person tent for the rain"`` -> ``("ultralight", "2-person",
    "waterproof")``. The longest phrase wins at each position ("water proof"
    before "water"); case, hyphens, spaces, plurals and full-width letters do
    not matter. Words that are attributes only in context ("down", "new",
    "light"…) need a product word after them, so "slow down" is not a filter.
    """
    if not text or not isinstance(text, str):
        return ()
    words = _tokens(text[:MAX_ATTRIBUTE_TEXT])
    vocabulary = attribute_vocabulary(products)
    if not words or not vocabulary:
        return ()
    longest = max(len(k) for k in vocabulary)
    first_words = {k[0] for k in vocabulary}
    nouns = _nouns()
    found: list[str] = []
    i = 0
    while i < len(words):
        for n in range(min(longest, len(words) - i), 0, -1):
            hit = vocabulary.get(tuple(words[i : i + n]))
            following = words[i + n] if i + n < len(words) else None
            if hit and _guard_ok(hit[1], following, nouns, first_words):
                if hit[0] not in found:
                    found.append(hit[0])
                i += n
                break
        else:
            i += 1
    return tuple(found)


def drop_category_words(
    products: Sequence[Product], attributes: Sequence[str], category: str | None
) -> tuple[str, ...]:
    """Attributes without those that only named the category.

    "trail running shoes": "running" is a catalog tag (of a running vest) but
    here it names the category; kept only if a product of that category has it
    (so "fleece jackets" still ranks the fleece first).
    """
    if not category:
        return tuple(attributes)
    in_category = [p for p in products if p["category"] == category]
    return tuple(
        a
        for a in attributes
        if normalize_category(a) != category
        or any(attribute_strength(p, a) >= 1.0 for p in in_category)
    )


@lru_cache(maxsize=256)
def _text_tokens(text: str) -> tuple[str, ...]:
    """Tokens of a product's name and description. Hyphenated compounds stay one
    token: the first word modifies the second ("warm-weather quilt" is not a
    warm quilt); the run-together form still matches tags ("2person", "3season")."""
    return tuple(_tokens(re.sub(r"(?<=\w)-(?=\w)", "", text)))


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


@lru_cache(maxsize=512)
def _attribute_forms(attribute: str, guarded_too: bool) -> tuple[tuple[str, ...], ...]:
    """Token forms that say ``attribute`` in product text: its name, the tags
    that satisfy it and its synonyms (guarded words only if ``guarded_too``)."""
    phrases = [
        attribute,
        *sorted(_satisfying_tags(attribute)),
        *ATTRIBUTE_SYNONYMS.get(attribute, ((), ()))[0],
    ]
    return tuple(
        form
        for phrase in phrases
        if guarded_too or " ".join(_tokens(phrase)) not in _NEEDS_NOUN
        for form in _variants(phrase)
    )


def _mentions(text: str, attribute: str, guarded_too: bool) -> bool:
    """Whether ``text`` says ``attribute`` in any of its words or synonyms."""
    grams = _text_ngrams(text)
    return any(
        form in grams if len(form) <= 4 else _contains(_text_tokens(text), form)
        for form in _attribute_forms(attribute, guarded_too)
    )


@lru_cache(maxsize=256)
def _text_ngrams(text: str) -> frozenset:
    """All runs of 1-4 tokens of a product text (phrases are at most that long),
    so a lookup is a set membership test."""
    words = _text_tokens(text)
    return frozenset(words[i : i + n] for n in range(1, 5) for i in range(len(words) - n + 1))


def attribute_strength(product: Product, attribute: str) -> float:
    """How surely the product has ``attribute``: 1 if a tag or flag says so
    (1.25 if its name says it too: "Stormshell Rain Jacket" is *the* rain
    jacket), 0.5 if only its name or description mentions it ("Lightweight
    3-person tent"), else 0. Guarded words ("down", "new"…) count in names
    only: descriptions use them loosely ("great value for new runners")."""
    tags = {str(t).strip().lower() for t in product.get("tags", [])}
    in_name = _mentions(product.get("name", ""), attribute, guarded_too=True)
    if (
        tags & _satisfying_tags(attribute)
        or (attribute == "sale" and product.get("discount_percent"))
        or (attribute == "new" and product.get("new_arrival"))
    ):
        return 1.25 if in_name else 1.0
    if in_name or _mentions(product.get("description", ""), attribute, guarded_too=False):
        return 0.5
    return 0.0


def attribute_rank(product: Product, attributes: Sequence[str]) -> tuple[float, ...]:
    """Sort key (smaller first) for the attribute part of the ranking:

    1. more requested attributes matched first (all before fewer);
    2. products for an audience nobody asked for ("kids") after the rest;
    3. more numeric specs matched ("2-person", "4-season"): a visitor who names
       a capacity needs it more than an adjective;
    4. the later requested attribute first: in a refinement ("waterproof
       jacket" -> "any lighter ones?") the newest wish decides a tie;
    5. tags before mere mentions in the description.
    """
    strengths = [attribute_strength(product, a) for a in attributes]
    count = sum(1 for s in strengths if s > 0)
    specs = sum(
        1 for a, s in zip(attributes, strengths, strict=True) if s > 0 and re.search(r"\d", a)
    )
    tags = {str(t).strip().lower() for t in product.get("tags", [])}
    other_audience = 1 if (tags & AUDIENCE_TAGS) - set(attributes) else 0
    latest = max((i + 1 for i, s in enumerate(strengths) if s > 0), default=0)
    return (-count, other_audience, -specs, -latest, -sum(strengths))


def attribute_label(attribute: str) -> str:
    """How an attribute reads in a reply: "waterproof", "for kids", "on sale"."""
    return _SUFFIX_LABELS.get(attribute, attribute)


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
    if criteria.attributes and not criteria.category:
        # "anything waterproof?": with no category the attributes are all that
        # says what the visitor wants, so they filter (at least one must match).
        return any(attribute_strength(product, a) > 0 for a in criteria.attributes)
    return True


def sale_price(product: Product) -> float:
    discount = product.get("discount_percent") or 0
    return round(float(product["price"]) * (100 - discount) / 100, 2)


@dataclass
class Profile:
    """What the bot remembers about a visitor that shapes recommendations."""

    interests: list[str] = field(default_factory=list)  # category keys, most recent first
    colors: list[str] = field(default_factory=list)  # preferred colours
    sizes: list[str] = field(default_factory=list)  # preferred sizes
    recommended: list[str] = field(default_factory=list)  # product ids already shown
    clicked: list[str] = field(default_factory=list)  # product ids clicked in the widget
    declined: list[str] = field(default_factory=list)  # product ids turned down: never again


def _has_size(product: Product, size: str) -> bool:
    return str(size).lower() in [str(s).lower() for s in product.get("sizes", [])]


def clicked_products(products: Sequence[Product], profile: Profile | None) -> list[Product]:
    if not profile or not profile.clicked:
        return []
    clicked = set(profile.clicked)
    return [p for p in products if p["id"] in clicked]


def score(
    product: Product,
    criteria: Criteria,
    profile: Profile | None = None,
    clicked: Sequence[Product] = (),
) -> float:
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


def rank(
    products: Iterable[Product],
    criteria: Criteria,
    profile: Profile | None = None,
    clicked: Sequence[Product] = (),
) -> list[Product]:
    """Best first: by requested attributes (see :func:`attribute_rank`), then
    :func:`score`; ties broken by price then id."""
    return sorted(
        products,
        key=lambda p: (
            attribute_rank(p, criteria.attributes),
            -score(p, criteria, profile, clicked),
            sale_price(p),
            p["id"],
        ),
    )


def filter_products(
    products: Sequence[Product], criteria: Criteria, profile: Profile | None = None
) -> list[Product]:
    clicked = clicked_products(products, profile)
    declined = set(profile.declined) if profile else set()
    return rank(
        (p for p in products if p["id"] not in declined and matches(p, criteria)),
        criteria,
        profile,
        clicked,
    )


def search(
    products: Sequence[Product], criteria: Criteria, limit: int = 3, profile: Profile | None = None
) -> SearchResult:
    """Exact matches, or the closest alternatives with filters relaxed.

    Filters are dropped size → colour → budget (the category is kept), so the
    visitor sees the right kind of product rather than nothing. Products the
    visitor declined are never returned; already recommended ones only when
    there is nothing else.
    """
    found = filter_products(products, criteria, profile)
    if found:
        return SearchResult(
            found[:limit], exact=True, unmatched=_unmatched(found, criteria.attributes)
        )
    relaxed: list[str] = []
    current = criteria
    for name in ("size", "color", "max_price"):
        if getattr(current, name) is None:
            continue
        current = current.without(name)
        relaxed.append(name)
        found = filter_products(products, current, profile)
        if found:
            if "max_price" in relaxed:
                # nearest to the budget first (among equally good attribute matches)
                found.sort(key=lambda p: (attribute_rank(p, criteria.attributes), sale_price(p)))
            return SearchResult(
                found[:limit],
                exact=False,
                relaxed=relaxed,
                unmatched=_unmatched(found, criteria.attributes),
            )
    return SearchResult([], exact=False, relaxed=relaxed)


def _unmatched(candidates: Sequence[Product], attributes: Sequence[str]) -> list[str]:
    """Requested attributes that none of the candidates has."""
    return [a for a in attributes if not any(attribute_strength(p, a) > 0 for p in candidates)]


def _feature(product: Product) -> str | None:
    """A short distinguishing feature from the tags (``2-person``, ``65L``…)."""
    for tag in product.get("tags", []):
        if re.search(r"\d", str(tag)):
            return str(tag)
    return None


def reason(
    product: Product,
    criteria: Criteria,
    profile: Profile | None = None,
    clicked: Sequence[Product] = (),
) -> str:
    """One short phrase saying why this product fits, e.g.
    ``"2-person, under your $300 budget, 15% off this week"``."""
    parts: list[str] = []
    price = sale_price(product)
    # Requested attributes it has come first: they are why it ranks here. Sale
    # and new are said below in their own words ("15% off this week").
    for attribute in criteria.attributes:
        if attribute not in ("sale", "new") and attribute_strength(product, attribute) > 0:
            parts.append(attribute_label(attribute))
    matched = len(parts)
    feature = _feature(product)
    if feature and feature not in parts:
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
    if len(parts) <= (1 if feature else 0) + matched:  # nothing else to say: describe it
        description = product["description"].rstrip(".")
        # ...and let the description say the attributes it already names
        said = _text_tokens(description)
        parts = [
            part
            for i, part in enumerate(parts)
            if i >= matched or not any(_contains(said, f) for f in _variants(part))
        ]
        parts.append(description)
    text = ", ".join(parts[:4])
    return text[0].upper() + text[1:]


def card(
    product: Product,
    criteria: Criteria,
    profile: Profile | None = None,
    clicked: Sequence[Product] = (),
) -> dict[str, Any]:
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


def greeting_offer(
    products: Sequence[Product],
    category: str,
    budget: float | None = None,
    declined: Iterable[str] = (),
) -> Product | None:
    """A real promotion (biggest discount) or else a new arrival in ``category``,
    within ``budget`` if known, never a declined product."""
    declined = set(declined)
    pool = [
        p
        for p in products
        if p["category"] == category
        and p["id"] not in declined
        and (budget is None or sale_price(p) <= budget)
    ]
    deals = sorted(
        (p for p in pool if p.get("discount_percent")),
        key=lambda p: (-p["discount_percent"], sale_price(p), p["id"]),
    )
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


def price_range(products: Sequence[Product], category: str | None = None) -> tuple | None:
    """(min, max, count) of current prices, optionally within a category."""
    prices = [sale_price(p) for p in products if not category or p["category"] == category]
    if not prices:
        return None
    return min(prices), max(prices), len(prices)


_GENERIC_NAME_WORDS = {
    "tent",
    "bag",
    "jacket",
    "boot",
    "shoe",
    "the",
    "down",
    "synthetic",
    "pack",
}


def find_by_name(products: Sequence[Product], text: str | None) -> Product | None:
    """The product whose distinctive name words all occur in ``text``."""
    if not text:
        return None
    words = set(re.findall(r"[a-z0-9]+", text.lower()))
    best, best_len = None, 0
    for p in products:
        name_words = [
            w for w in re.findall(r"[a-z0-9]+", p["name"].lower()) if w not in _GENERIC_NAME_WORDS
        ]
        if name_words and all(w in words for w in name_words) and len(name_words) > best_len:
            best, best_len = p, len(name_words)
    return best
