"""``action_fallback``: when the bot is unsure, say what it can do."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from .common import HUMAN_BUTTON

FALLBACK_BUTTONS = [
    {"title": "Find gear", "payload": "/find_product"},
    {"title": "Shipping", "payload": "/ask_shipping"},
    {"title": "Returns", "payload": "/ask_returns"},
    {"title": "Order status", "payload": "/ask_order_status"},
    {"title": "Promotions", "payload": "/ask_promotions"},
    HUMAN_BUTTON,
]


class ActionFallback(Action):
    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(
            text=(
                "Sorry, I didn't quite get that. I can help you find gear, check prices, "
                "shipping, returns, promotions or an order, and sign you up for our "
                "newsletter. Or I can get you a person."
            ),
            buttons=FALLBACK_BUTTONS,
        )
        # For the chat server only (never shown): it counts fallbacks in a row
        # and brings in a person after the second one.
        dispatcher.utter_message(json_message={"fallback": True})
        # Revert the message we did not understand (as Rasa's default fallback
        # does): the next prediction is then action_listen. Without it the
        # core fallback (RulePolicy's core_fallback_action_name) is predicted
        # again and again until the circuit breaker trips (10 replies), and
        # the conversation is left without an action_listen.
        return [UserUtteranceReverted()]
