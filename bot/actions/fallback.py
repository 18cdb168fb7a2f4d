"""``action_fallback``: when the bot is unsure, say what it can do."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
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
    def name(self) -> Text:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(
            text=("Sorry, I didn't quite get that. I can help you find gear, check prices, "
                  "shipping, returns, promotions or an order, and sign you up for our "
                  "newsletter. Or I can get you a person."),
            buttons=FALLBACK_BUTTONS,
        )
        return []
