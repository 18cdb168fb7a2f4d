"""``action_greet``: greet new visitors generically, returning ones by what we remember.

Memory lives in slots carried over to new sessions (name, interests,
last_topic, budget), so the greeting needs no dialogue history. "Welcome back"
is said at most once per session (checked in the session's own events).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from . import catalog as cat
from .common import list_slot, payload, previous_slot_value, session_events
from .data import catalog

WELCOME_BACK = "Welcome back"


def greeting_category(tracker: Tracker) -> str | None:
    """The category to pick up: the last topic if it was one, else the latest interest."""
    topic = cat.normalize_category(tracker.get_slot("last_topic"))
    if topic:
        return topic
    interests = [i for i in list_slot(tracker, "interests") if i in cat.CATEGORY_LABELS]
    return interests[0] if interests else None


def welcomed_this_session(tracker: Tracker) -> bool:
    return any(
        e.get("event") == "bot" and WELCOME_BACK.lower() in (e.get("text") or "").lower()
        for e in session_events(tracker)
    )


def offer_sentence(category: str, budget: float | None, declined: list[str]) -> str:
    product = cat.greeting_offer(catalog(), category, budget, declined)
    if product is None:
        return ""
    name = cat.short_name(product)
    if product.get("discount_percent"):
        return f" The {name} is {product['discount_percent']}% off this week."
    return f" The {name} just arrived."


class ActionGreet(Action):
    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        name = tracker.get_slot("name")
        category = greeting_category(tracker)
        if not name and not category:
            dispatcher.utter_message(response="utter_greet")
            return []

        if name and previous_slot_value(tracker, "name") != name:
            # "hi, I'm Priya": the name arrived with this very greeting.
            dispatcher.utter_message(response="utter_nice_to_meet_you", name=name)
            return []
        if name:
            opener = (
                f"Hi again, {name}" if welcomed_this_session(tracker) else f"{WELCOME_BACK}, {name}"
            )
        else:
            # Anonymous visitor we have seen browsing: no "welcome back" for strangers.
            opener = "Hi there"
        buttons = []
        if category:
            label = cat.CATEGORY_LABELS[category]
            budget = cat.parse_budget(tracker.get_slot("budget"))
            text = f"{opener} — still after {label}?"
            text += offer_sentence(
                category, budget, [str(i) for i in list_slot(tracker, "products_declined")]
            )
            buttons.append(
                {
                    "title": f"Show me {label}",
                    "payload": payload("find_product", product_category=category),
                }
            )
        else:
            text = f"{opener}! What can I help you find today?"
        buttons.append({"title": "Current promotions", "payload": "/ask_promotions"})
        buttons.append({"title": "Where's my order?", "payload": "/ask_order_status"})
        dispatcher.utter_message(text=text, buttons=buttons)
        return []
