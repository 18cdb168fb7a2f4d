"""``action_greet``: greet new visitors generically, returning ones by what we remember.

Memory lives in slots carried over to new sessions (name, interests), so the
greeting needs no dialogue history.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from .catalog import CATEGORY_LABELS
from .common import payload


class ActionGreet(Action):
    def name(self) -> Text:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        name = tracker.get_slot("name")
        interests = [i for i in (tracker.get_slot("interests") or []) if i in CATEGORY_LABELS]
        if not name and not interests:
            dispatcher.utter_message(response="utter_greet")
            return []
        text = f"Welcome back, {name}!" if name else "Welcome back!"
        buttons = []
        if interests:
            category = interests[-1]
            label = CATEGORY_LABELS[category]
            text += f" Still looking at {label}? I can pick up where we left off."
            buttons.append({"title": f"Show me {label}",
                            "payload": payload("find_product", product_category=category)})
        else:
            text += " What can I help you find today?"
        buttons.append({"title": "Something else", "payload": "/find_product"})
        dispatcher.utter_message(text=text, buttons=buttons)
        return []
