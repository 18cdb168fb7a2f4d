"""``action_search_products``: product recommendations as cards."""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Text

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
    money,
    payload,
    previous_slot_value,
    profile_from_tracker,
    remember_first,
)
from .data import catalog

MAX_CARDS = 3


def criteria_from_tracker(tracker: Tracker) -> cat.Criteria:
    """Search criteria from the latest message, refined by remembered slots.

    A message that names a *different* category than the current search
    starts a fresh search (only its own filters count); otherwise (e.g. "in
    blue", "under $100", "what would you recommend for me?") it refines the
    previous search, so earlier filters and the visitor's budget still apply.
    With no category anywhere, the visitor's most recent interest is used.
    """
    message_category = cat.normalize_category(latest_entity(tracker, "product_category"))
    # The slot mapping has already copied the message's entity into the slot:
    # compare with the value from before this message.
    previous_category = cat.normalize_category(previous_slot_value(tracker, "product_category"))
    fresh = (message_category is not None and latest_intent(tracker) == "find_product"
             and message_category != previous_category)

    def pick(entity: str) -> Optional[Any]:
        value = latest_entity(tracker, entity)
        if value is None and not fresh:
            value = tracker.get_slot(entity)
        return value

    budget = cat.parse_budget(latest_entity(tracker, "budget"))
    if budget is None and not fresh:
        budget = cat.parse_budget(tracker.get_slot("budget"))
    interests = profile_from_tracker(tracker).interests
    return cat.Criteria(
        category=(message_category or cat.normalize_category(tracker.get_slot("product_category"))
                  or (interests[0] if interests else None)),
        color=cat.normalize_color(pick("color")),
        size=cat.normalize_size(pick("size")),
        max_price=budget,
    )


def describe(criteria: cat.Criteria) -> str:
    label = cat.CATEGORY_LABELS.get(criteria.category or "", "gear")
    text = label
    if criteria.color:
        text = f"{criteria.color} {text}"
    if criteria.size:
        text += f" in size {criteria.size}"
    if criteria.max_price is not None:
        text += f" under {money(criteria.max_price)}"
    return text


def refine_buttons(criteria: cat.Criteria, shown: List[Dict[str, Any]]) -> List[Dict[str, str]]:
    buttons: List[Dict[str, str]] = []
    colors: List[str] = []
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
    intro: Optional[str] = None,
    prefix: str = "",
) -> List[Dict[Text, Any]]:
    """Send cards for ``criteria`` ranked for ``profile``; return the slot events
    recording what was shown (``products_recommended``)."""
    products = catalog()
    result = cat.search(products, criteria, limit=MAX_CARDS, profile=profile)
    if not result.products:
        if profile.declined:
            text = (f"That's all the {describe(criteria)} I have that you haven't turned down. "
                    "Want to try another category?")
        else:
            text = f"Sorry, I couldn't find any {describe(criteria)}. Want to try another category?"
        dispatcher.utter_message(text=prefix + text, buttons=category_buttons() + [HUMAN_BUTTON])
        return []

    if result.exact:
        text = intro or f"Here are some {describe(criteria)} I'd recommend:"
    else:
        dropped = {"size": "that size", "color": "that colour", "max_price": "that budget"}
        missing = " or ".join(dropped[r] for r in result.relaxed)
        text = (
            f"I couldn't find {describe(criteria)} — nothing in {missing}. "
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
    def name(self) -> Text:
        return "action_search_products"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        raw_budget = latest_entity(tracker, "budget")
        if raw_budget is not None and cat.parse_budget(raw_budget) is None:
            # "my budget is -50": action_validate_slot_mappings has already
            # asked again; showing cards now would ignore the answer.
            return []
        criteria = criteria_from_tracker(tracker)
        profile = profile_from_tracker(tracker)
        events: List[Dict[Text, Any]] = [
            SlotSet("color", criteria.color),
            SlotSet("size", criteria.size),
            SlotSet("budget", criteria.max_price),
        ]
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
        if latest_entity(tracker, "product_category") is None and latest_intent(tracker) in (
            "find_product", "affirm"
        ):
            # "what would you recommend for me?": picked from what we remember.
            intro = f"Based on what you've been looking at, here are some {describe(criteria)} for you:"
        return events + show_products(dispatcher, criteria, profile, intro)


class ActionDeclineProducts(Action):
    """``deny`` right after recommendations: never suggest those again; offer others."""

    def name(self) -> Text:
        return "action_decline_products"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        shown = last_shown_product_ids(tracker)
        if not shown:
            dispatcher.utter_message(response="utter_browse_ok")
            return []
        profile = profile_from_tracker(tracker)
        profile.declined = append_unique(profile.declined, shown, limit=200)
        events: List[Dict[Text, Any]] = [SlotSet("products_declined", profile.declined)]
        category = cat.normalize_category(tracker.get_slot("product_category"))
        if category is None:
            dispatcher.utter_message(
                text="No problem, I won't suggest those again. What kind of gear would you like instead?",
                buttons=category_buttons() + [HUMAN_BUTTON],
            )
            return events
        criteria = cat.Criteria(
            category=category,
            color=cat.normalize_color(tracker.get_slot("color")),
            size=cat.normalize_size(tracker.get_slot("size")),
            max_price=cat.parse_budget(tracker.get_slot("budget")),
        )
        intro = f"How about these {describe(criteria)}?"
        prefix = "No problem, I won't suggest those again. "
        return events + show_products(dispatcher, criteria, profile, intro, prefix)
