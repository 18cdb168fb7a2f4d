"""Validated capture of the visitor's profile outside forms.

``action_validate_slot_mappings`` runs after every user message (Rasa calls it
from ``action_extract_slots``): it extracts the custom slots (``budget``,
``interests``, and a pattern fallback for ``name``) and validates every slot
that changed, so nothing invalid is stored: a rejected value keeps the
previous one and the visitor is asked again.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker, ValidationAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from . import catalog as cat
from .common import (
    latest_entity,
    latest_intent,
    latest_text,
    list_slot,
    previous_slot_value,
    remember_first,
)
from .newsletter import extract_email
from .orders import normalize_order_id

_NAME_CHARS = re.compile(r"^[^\W\d_]+(?:[ '\-’][^\W\d_]+)*$")
# Words that are never a name: greetings, fillers, shop vocabulary.
_NOT_NAMES = {
    "hi",
    "hello",
    "hey",
    "hiya",
    "howdy",
    "yo",
    "sup",
    "greetings",
    "morning",
    "evening",
    "afternoon",
    "bye",
    "goodbye",
    "thanks",
    "thank",
    "yes",
    "no",
    "ok",
    "okay",
    "sure",
    "nope",
    "yeah",
    "here",
    "there",
    "back",
    "fine",
    "good",
    "great",
    "looking",
    "interested",
    "just",
    "a",
    "an",
    "the",
    "me",
    "you",
    "bot",
    "human",
    "person",
    "customer",
    "new",
    "not",
    "sorry",
    "done",
    "ready",
    "going",
    "after",
    "searching",
    "shopping",
    "browsing",
    "trying",
    "want",
    "need",
    "buying",
    "in",
    "on",
    "at",
    "from",
    "so",
    "very",
    "really",
    "happy",
    "sad",
    "angry",
    "tired",
    "cold",
    "hot",
    "size",
    "budget",
    "email",
    "order",
    "help",
    "available",
    "gonna",
    "getting",
    "still",
    "also",
    "only",
    "well",
}
_PRODUCT_WORDS = {
    "tent",
    "tents",
    "boot",
    "boots",
    "shoe",
    "shoes",
    "jacket",
    "jackets",
    "backpack",
    "backpacks",
    "pack",
    "packs",
    "bag",
    "bags",
    "sleeping",
    "running",
    "hiking",
    "gear",
    "headlamp",
    "stove",
    "coat",
    "parka",
    "fleece",
    "sneakers",
    "runners",
    "trail",
    "accessories",
    "quilt",
    "rucksack",
    "daypack",
    "poles",
}
_COLORS = {
    "red",
    "blue",
    "green",
    "black",
    "white",
    "grey",
    "gray",
    "orange",
    "yellow",
    "pink",
    "brown",
    "purple",
    "navy",
}
# "my name is Priya", "call me Sam", "This is Jordan", "I'm Priya" (the last
# only as a whole short message, so "I'm looking for a tent" never matches).
_WORD = r"[^\W\d_][\w'’\-]*"
_NAME_PATTERNS = [
    (
        re.compile(
            rf"\b(?:my name is|my name's|my names|name is|name's|the name is|call me|"
            rf"you can call me)\s+({_WORD}(?:\s+{_WORD})?)",
            re.IGNORECASE,
        ),
        False,
    ),
    (re.compile(rf"\b(?:this is|it's|it is)\s+({_WORD}(?:\s+{_WORD})?)", re.IGNORECASE), True),
    (
        re.compile(
            rf"^\s*(?:hi|hello|hey)?[,!\s]*(?:i'm|i am|im)\s+({_WORD})\s*[.!]?\s*$", re.IGNORECASE
        ),
        False,
    ),
]


def _title(word: str) -> str:
    """``o'brien`` -> ``O'Brien``, ``anne-marie`` -> ``Anne-Marie``, ``mcdonald``
    -> ``Mcdonald``."""
    out, upper_next = [], True
    for i, ch in enumerate(word):
        out.append(ch.upper() if upper_next else ch.lower())
        upper_next = ch in " -" or (ch in "'’" and i == 1)
    return "".join(out)


def clean_name(value: Any) -> str | None:
    """A plausible person name, title-cased (``"priya"`` -> ``"Priya"``), else ``None``."""
    if not isinstance(value, str):
        return None
    name = " ".join(value.strip().strip('.,!?;:"').split())
    if not 1 <= len(name) <= 40 or not _NAME_CHARS.match(name):
        return None
    words = re.split(r"[ \-'’]", name.lower())
    if any(
        w in _NOT_NAMES
        or w in _PRODUCT_WORDS
        or w in _COLORS
        or (cat.normalize_category(w) and w in _PRODUCT_WORDS)
        for w in words
    ):
        return None
    if cat.normalize_category(name) is not None and name.lower() in _PRODUCT_WORDS:
        return None
    return _title(name)


def name_from_text(text: str) -> str | None:
    """Pattern fallback when the NLU model did not tag a ``name`` entity."""
    for pattern, needs_capital in _NAME_PATTERNS:
        match = pattern.search(text or "")
        if match and not (needs_capital and not match.group(1)[:1].isupper()):
            candidate = match.group(1)
            # "it's Maria Garcia" keeps both words only if both look like a name
            words = candidate.split()
            while words and clean_name(" ".join(words)) is None:
                words = words[:-1]
            if words:
                return clean_name(" ".join(words))
    return None


# A colour or size is a short plain word or code ("navy", "light blue", "XL",
# "10.5", "32/34"). Anything else (markup, URLs, template syntax) could reach
# the profile, the console and the bot's own replies, so it is refused.
_PLAIN_COLOR = re.compile(r"^[^\W\d_]+(?:[ \-][^\W\d_]+){0,2}$")
_PLAIN_SIZE = re.compile(r"^[A-Za-z0-9]+(?:[ ./\-][A-Za-z0-9]+){0,2}$")


def clean_color(value: Any) -> str | None:
    """A plausible colour, normalised (``"Navy"`` -> ``"blue"``), else ``None``."""
    if not isinstance(value, str) or len(value) > 30:
        return None
    color = cat.normalize_color(value)
    return color if color and _PLAIN_COLOR.match(color) else None


def clean_size(value: Any) -> str | None:
    """A plausible size, normalised (``"large"`` -> ``"L"``), else ``None``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > 20:
        return None
    size = cat.normalize_size(value)
    return size if size and _PLAIN_SIZE.match(size) else None


def _plain_values(value: Any, clean: Any, tracker: Tracker, slot: str) -> Any:
    """``value`` cleaned (each item of a list, as Rasa fills a slot with several
    entities); the previous value when nothing in it is acceptable."""
    if value is None:
        return None
    if isinstance(value, list):
        kept = [c for c in (clean(v) for v in value) if c is not None]
        return kept or previous_slot_value(tracker, slot)
    cleaned = clean(value)
    return cleaned if cleaned is not None else previous_slot_value(tracker, slot)


_BUDGET_WORDS = re.compile(
    r"\b(budget|spend|spending|under|below|less than|up to|max(imum)?|no more than|"
    r"around|about|cheaper than|dollars?|bucks|usd)\b|\$",
    re.IGNORECASE,
)


class ValidateSlotMappings(ValidationAction):
    """``action_validate_slot_mappings``: profile slots filled outside forms."""

    def name(self) -> str:
        return "action_validate_slot_mappings"

    def domain_slots(self, domain: DomainDict) -> list[str]:
        # email has a form-conditioned mapping (newsletter form) but is also
        # filled from any message: validate it here too.
        slots = super().domain_slots(domain)
        for slot in ("email", "order_id"):
            if slot in (domain.get("slots") or {}) and slot not in slots:
                slots.append(slot)
        return slots

    # ----- extraction of custom slots -----

    async def extract_budget(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        raw = latest_entity(tracker, "budget")
        if raw is None:
            text = latest_text(tracker)
            # The model missed the entity: "my budget is 300 dollars", "around 1k".
            order_id = latest_entity(tracker, "order_id")
            if (
                latest_intent(tracker) in ("inform", "find_product")
                and _BUDGET_WORDS.search(text)
                and re.search(r"\d", text)
                and latest_entity(tracker, "size") is None
                and (order_id is None or normalize_order_id(order_id) is None)
            ):
                raw = text
            else:
                return {}
        amount = cat.parse_budget(raw)
        if amount is None or (
            isinstance(raw, str) and re.search(r"-\s*\$?\s*\d", latest_text(tracker))
        ):
            dispatcher.utter_message(response="utter_invalid_budget")
            return {}
        return {"budget": amount}

    async def extract_interests(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        category = cat.normalize_category(latest_entity(tracker, "product_category"))
        if category is None:
            return {}
        interests = [i for i in list_slot(tracker, "interests") if i in cat.CATEGORY_LABELS]
        updated = remember_first(interests, category)
        return {"interests": updated} if updated != interests else {}

    async def extract_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if latest_entity(tracker, "name") is not None:
            return {}  # the from_entity mapping has it; validate_name cleans it
        if latest_intent(tracker) not in ("inform", "greet", None):
            return {}
        name = name_from_text(latest_text(tracker))
        return {"name": name} if name else {}

    # ----- validation -----

    async def validate_name(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        name = clean_name(slot_value)
        if name is None:
            return {"name": previous_slot_value(tracker, "name")}
        return {"name": name}

    async def validate_email(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if tracker.active_loop.get("name") == "newsletter_form":
            return {"email": slot_value}  # validate_newsletter_form handles it (and re-asks)
        email = extract_email(slot_value)
        if email is None:
            previous = previous_slot_value(tracker, "email")
            if slot_value and previous:
                # (with no previous email, utter_offer_newsletter's variation
                # for a null email says it instead)
                dispatcher.utter_message(response="utter_invalid_email")
            return {"email": previous}
        return {"email": email}

    async def validate_color(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return {"color": _plain_values(slot_value, clean_color, tracker, "color")}

    async def validate_size(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return {"size": _plain_values(slot_value, clean_size, tracker, "size")}

    async def validate_budget(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        amount = cat.parse_budget(slot_value)
        if amount is None and slot_value is not None:
            return {"budget": previous_slot_value(tracker, "budget")}
        return {"budget": amount}

    async def validate_order_id(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if tracker.active_loop.get("name"):
            return {"order_id": slot_value}  # validate_order_status_form handles it
        return {"order_id": normalize_order_id(slot_value)}
