"""``action_search_products``: product recommendations as cards."""

from __future__ import annotations

import math
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from . import catalog as cat
from .common import (
    HUMAN_BUTTON,
    append_unique,
    category_buttons,
    last_shown_product_ids,
    latest_entity,
    latest_intent,
    latest_text,
    money,
    payload,
    previous_slot_value,
    profile_from_tracker,
    remember_first,
    session_events,
)
from .data import catalog

MAX_CARDS = 3
# Intents whose messages shape a search ("a waterproof one" is inform or
# find_product); other messages ("how much is the new tent?") do not.
SEARCH_INTENTS = ("find_product", "inform", "affirm")
# How far back a refinement looks for earlier attributes.
MAX_REFINEMENT_MESSAGES = 20


def _earlier_messages(tracker: Tracker) -> list[tuple[str, str | None, str | None]]:
    """``(text, intent, category searched after it)`` for each user message of
    this session before the latest one, oldest first.

    The category is the ``product_category`` slot as it stood after that
    message was handled (set by the slot mapping or this action), else the
    message's own category entity.
    """
    messages: list[list[Any]] = []
    category: str | None = None
    for event in session_events(tracker):
        if event.get("event") == "user":
            parse = event.get("parse_data") or {}
            entity = next(
                (
                    e.get("value")
                    for e in parse.get("entities") or []
                    if e.get("entity") == "product_category"
                ),
                None,
            )
            category = cat.normalize_category(entity) or category
            messages.append(
                [event.get("text") or "", (parse.get("intent") or {}).get("name"), category]
            )
        elif event.get("event") == "slot" and event.get("name") == "product_category":
            category = cat.normalize_category(event.get("value"))
            if messages:
                messages[-1][2] = category
        elif event.get("event") in ("restart", "reset_slots"):
            messages, category = [], None
    return [tuple(m) for m in messages[:-1]]  # the last one is the latest message


def previous_attributes(tracker: Tracker, category: str | None) -> tuple[str, ...]:
    """Attributes of the search the latest message refines, re-read from the
    earlier messages' text (there is no slot for them, on purpose: the domain
    stays as it is and nothing new is stored about the visitor).

    Walks back over the search messages made while the same category was being
    searched (or none, "anything waterproof?"), stopping at the first one about
    another category: "waterproof jacket" -> "in red" -> "any lighter ones?"
    is a search for waterproof, lightweight jackets; "show me tents" after
    that starts over.
    """
    products = catalog()
    found: list[tuple[str, ...]] = []
    earlier = _earlier_messages(tracker)[-MAX_REFINEMENT_MESSAGES:]
    for text, intent, message_category in reversed(earlier):
        if message_category is not None and message_category != category:
            break
        if intent in SEARCH_INTENTS:
            found.append(cat.extract_attributes(text, products))
    return tuple(dict.fromkeys(a for attrs in reversed(found) for a in attrs))


def criteria_from_tracker(tracker: Tracker) -> cat.Criteria:
    """Search criteria from the latest message, refined by remembered slots.

    A message that names a *different* category than the current search
    starts a fresh search (only its own filters count); otherwise (e.g. "in
    blue", "under $100", "what would you recommend for me?") it refines the
    previous search, so earlier filters and the visitor's budget still apply.
    With no category anywhere, the visitor's most recent interest is used,
    unless the message names attributes ("anything waterproof?"): then the
    search spans all categories.

    Attributes ("waterproof", "2-person"…) are read from the message text and
    added to those of the search being refined (see :func:`previous_attributes`).
    """
    message_category = cat.normalize_category(latest_entity(tracker, "product_category"))
    # The slot mapping has already copied the message's entity into the slot:
    # compare with the value from before this message.
    previous_category = cat.normalize_category(previous_slot_value(tracker, "product_category"))
    fresh = (
        message_category is not None
        and latest_intent(tracker) == "find_product"
        and message_category != previous_category
    )

    def pick(entity: str) -> Any | None:
        value = latest_entity(tracker, entity)
        if value is None and not fresh:
            value = tracker.get_slot(entity)
        return value

    budget = cat.parse_budget(latest_entity(tracker, "budget"))
    if budget is None and not fresh:
        budget = cat.parse_budget(tracker.get_slot("budget"))
    interests = profile_from_tracker(tracker).interests
    products = catalog()
    message_attributes = cat.extract_attributes(latest_text(tracker), products)
    category = (
        message_category
        or cat.normalize_category(tracker.get_slot("product_category"))
        or (interests[0] if interests and not message_attributes else None)
    )
    attributes = tuple(dict.fromkeys(previous_attributes(tracker, category) + message_attributes))
    return cat.Criteria(
        category=category,
        color=cat.normalize_color(pick("color")),
        size=cat.normalize_size(pick("size")),
        max_price=budget,
        attributes=cat.drop_category_words(products, attributes, category),
    )


def describe(criteria: cat.Criteria) -> str:
    """``"blue waterproof jackets for kids in size M under $200"``."""
    label = cat.CATEGORY_LABELS.get(criteria.category or "", "gear")
    labels = [cat.attribute_label(a) for a in criteria.attributes]
    before = [text for text, a in zip(labels, criteria.attributes, strict=True) if text == a]
    after = [text for text, a in zip(labels, criteria.attributes, strict=True) if text != a]
    text = " ".join([*before, label, *after])
    if criteria.color:
        text = f"{criteria.color} {text}"
    if criteria.size:
        text += f" in size {criteria.size}"
    if criteria.max_price is not None:
        text += f" under {money(criteria.max_price)}"
    return text


def refine_buttons(criteria: cat.Criteria, shown: list[dict[str, Any]]) -> list[dict[str, str]]:
    buttons: list[dict[str, str]] = []
    colors: list[str] = []
    for product in shown:
        for color in product["colors"]:
            if color != criteria.color and color not in colors:
                colors.append(color)
    for color in colors[:2]:
        buttons.append({"title": f"In {color}", "payload": payload("inform", color=color)})
    prices = sorted(p["price"] for p in shown)
    if len(prices) > 1:
        cap = math.ceil(prices[0] / 50) * 50  # a round budget that keeps the cheapest
        if cap < prices[-1] and cap != criteria.max_price:
            buttons.append(
                {"title": f"Under {money(cap)}", "payload": payload("inform", budget=str(cap))}
            )
    buttons.append(HUMAN_BUTTON)
    return buttons


def show_products(
    dispatcher: CollectingDispatcher,
    criteria: cat.Criteria,
    profile: cat.Profile,
    intro: str | None = None,
    prefix: str = "",
) -> list[dict[str, Any]]:
    """Send cards for ``criteria`` ranked for ``profile``; return the slot events
    recording what was shown (``products_recommended``)."""
    products = catalog()
    result = cat.search(products, criteria, limit=MAX_CARDS, profile=profile)
    if not result.products:
        if profile.declined:
            text = (
                f"That's all the {describe(criteria)} I have that you haven't turned down. "
                "Want to try another category?"
            )
        else:
            text = f"Sorry, I couldn't find any {describe(criteria)}. Want to try another category?"
        dispatcher.utter_message(text=prefix + text, buttons=[*category_buttons(), HUMAN_BUTTON])
        return []

    wanted = len(criteria.attributes)
    matched = [-cat.attribute_rank(p, criteria.attributes)[0] for p in result.products]
    if result.exact and matched[0] == wanted:
        if all(m == wanted for m in matched):
            text = intro or f"Here are some {describe(criteria)} I'd recommend:"
        else:
            # Attributes rank, they do not filter: say so when some cards lack one.
            text = f"Here's what I'd recommend for {describe(criteria)}, best matches first:"
    else:
        dropped = {"size": "that size", "color": "that colour", "max_price": "that budget"}
        why = []
        if result.relaxed:
            why.append("nothing in " + " or ".join(dropped[r] for r in result.relaxed))
        if result.unmatched:
            why.append("none are " + " or ".join(cat.attribute_label(a) for a in result.unmatched))
        elif matched[0] < wanted:
            # each attribute exists, but not all together ("ultralight 2-person tent")
            why.append(
                "nothing is " + " and ".join(cat.attribute_label(a) for a in criteria.attributes)
            )
        text = (
            f"I couldn't find {describe(criteria)} — {', and '.join(why)}. "
            "These are the closest alternatives:"
        )
    clicked = cat.clicked_products(products, profile)
    cards = [cat.card(p, criteria, profile, clicked) for p in result.products]
    dispatcher.utter_message(text=prefix + text)
    dispatcher.utter_message(json_message={"type": "product_cards", "products": cards})
    dispatcher.utter_message(
        text="Want me to narrow it down?", buttons=refine_buttons(criteria, cards)
    )
    shown = [c["id"] for c in cards]
    return [SlotSet("products_recommended", append_unique(profile.recommended, shown))]


class ActionSearchProducts(Action):
    def name(self) -> str:
        return "action_search_products"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        raw_budget = latest_entity(tracker, "budget")
        if raw_budget is not None and cat.parse_budget(raw_budget) is None:
            # "my budget is -50": action_validate_slot_mappings has already
            # asked again; showing cards now would ignore the answer.
            return []
        criteria = criteria_from_tracker(tracker)
        profile = profile_from_tracker(tracker)
        events: list[dict[str, Any]] = [
            SlotSet("color", criteria.color),
            SlotSet("size", criteria.size),
            SlotSet("budget", criteria.max_price),
        ]
        if criteria.category is None and criteria.attributes:
            # "anything waterproof?": across all categories, ranked by attributes.
            return events + show_products(dispatcher, criteria, profile)
        if criteria.category is None:
            dispatcher.utter_message(
                text="Happy to help! What kind of gear are you looking for?",
                buttons=category_buttons(),
            )
            return events

        events.append(SlotSet("product_category", criteria.category))
        events.append(SlotSet("last_topic", criteria.category))
        interests = remember_first(profile.interests, criteria.category)
        if interests != profile.interests:
            events.append(SlotSet("interests", interests))

        intro = None
        if (
            latest_entity(tracker, "product_category") is None
            and latest_intent(tracker) in ("find_product", "affirm")
            and not cat.extract_attributes(latest_text(tracker), catalog())
        ):
            # "what would you recommend for me?": picked from what we remember.
            intro = (
                f"Based on what you've been looking at, here are some {describe(criteria)} for you:"
            )
        return events + show_products(dispatcher, criteria, profile, intro)


class ActionDeclineProducts(Action):
    """``deny`` right after recommendations: never suggest those again; offer others."""

    def name(self) -> str:
        return "action_decline_products"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        shown = last_shown_product_ids(tracker)
        if not shown:
            dispatcher.utter_message(response="utter_browse_ok")
            return []
        profile = profile_from_tracker(tracker)
        profile.declined = append_unique(profile.declined, shown, limit=200)
        events: list[dict[str, Any]] = [SlotSet("products_declined", profile.declined)]
        category = cat.normalize_category(tracker.get_slot("product_category"))
        if category is None:
            dispatcher.utter_message(
                text=(
                    "No problem, I won't suggest those again. "
                    "What kind of gear would you like instead?"
                ),
                buttons=[*category_buttons(), HUMAN_BUTTON],
            )
            return events
        criteria = cat.Criteria(
            category=category,
            color=cat.normalize_color(tracker.get_slot("color")),
            size=cat.normalize_size(tracker.get_slot("size")),
            max_price=cat.parse_budget(tracker.get_slot("budget")),
            # still the search they were refining ("no" has no attributes itself)
            attributes=cat.drop_category_words(
                catalog(), previous_attributes(tracker, category), category
            ),
        )
        intro = f"How about these {describe(criteria)}?"
        prefix = "No problem, I won't suggest those again. "
        return events + show_products(dispatcher, criteria, profile, intro, prefix)
