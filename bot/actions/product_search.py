"""``action_search_products``: product recommendations as cards."""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from . import catalog as cat
from .common import HUMAN_BUTTON, category_buttons, latest_entity, latest_intent, money, payload
from .data import catalog

MAX_CARDS = 3
MAX_INTERESTS = 10


def criteria_from_tracker(tracker: Tracker) -> cat.Criteria:
    """Search criteria from the latest message, refined by remembered slots.

    A message that names a category starts a fresh search (only its own
    filters count); otherwise (e.g. "in blue", "under $100") it refines the
    previous search, so earlier filters still apply.
    """
    message_category = cat.normalize_category(latest_entity(tracker, "product_category"))
    fresh = message_category is not None and latest_intent(tracker) == "find_product"

    def pick(entity: str) -> Optional[Any]:
        value = latest_entity(tracker, entity)
        if value is None and not fresh:
            value = tracker.get_slot(entity)
        return value

    return cat.Criteria(
        category=message_category or cat.normalize_category(tracker.get_slot("product_category")),
        color=cat.normalize_color(pick("color")),
        size=cat.normalize_size(pick("size")),
        max_price=cat.parse_budget(pick("budget")),
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


class ActionSearchProducts(Action):
    def name(self) -> Text:
        return "action_search_products"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        criteria = criteria_from_tracker(tracker)
        events: List[Dict[Text, Any]] = [
            SlotSet("color", criteria.color),
            SlotSet("size", criteria.size),
            SlotSet("budget", criteria.max_price),
            SlotSet("last_topic", "product_search"),
        ]
        if criteria.category is None:
            dispatcher.utter_message(
                text="Happy to help! What kind of gear are you looking for?",
                buttons=category_buttons(),
            )
            return events

        events.append(SlotSet("product_category", criteria.category))
        interests = list(tracker.get_slot("interests") or [])
        if criteria.category not in interests:
            interests = (interests + [criteria.category])[-MAX_INTERESTS:]
            events.append(SlotSet("interests", interests))

        result = cat.search(catalog(), criteria, limit=MAX_CARDS)
        if not result.products:
            dispatcher.utter_message(
                text=f"Sorry, I couldn't find any {describe(criteria)}. Want to try another category?",
                buttons=category_buttons() + [HUMAN_BUTTON],
            )
            return events

        if result.exact:
            text = f"Here are some {describe(criteria)} I'd recommend:"
        else:
            dropped = {"size": "that size", "color": "that colour", "max_price": "that budget"}
            missing = " or ".join(dropped[r] for r in result.relaxed)
            text = (
                f"I couldn't find {describe(criteria)} — nothing in {missing}. "
                "These are the closest alternatives:"
            )
        cards = [cat.card(p, criteria) for p in result.products]
        dispatcher.utter_message(text=text)
        dispatcher.utter_message(json_message={"type": "product_cards", "products": cards})
        dispatcher.utter_message(
            text="Want me to narrow it down?", buttons=refine_buttons(criteria, cards)
        )
        return events
