"""``action_handoff``: hand the conversation to a person.

The chat server recognises the ``{"handoff": {...}}`` custom payload, queues
the conversation for an agent and silences the bot until it is resolved.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from .common import latest_intent


class ActionHandoff(Action):
    def name(self) -> Text:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        if latest_intent(tracker) == "complain":
            reason = "complaint"
            dispatcher.utter_message(response="utter_handoff_complaint")
        else:
            reason = "requested"
            dispatcher.utter_message(response="utter_handoff")
        dispatcher.utter_message(json_message={"handoff": {"reason": reason}})
        return [SlotSet("last_topic", "handoff")]
