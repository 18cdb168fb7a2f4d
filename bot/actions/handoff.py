"""``action_handoff``: hand the conversation to a person.

The chat server consumes the ``{"handoff": {...}}`` control payload (it is
never shown to the visitor). Only the chat server knows whether anyone is
online, so it, not the bot, tells the visitor what happens next: queued with
their position, or an offer to take a message when nobody is there. The bot
only apologises for a complaint.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from .common import latest_intent

COMPLAINT_APOLOGY = "I'm really sorry about that."


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if latest_intent(tracker) == "complain":
            reason = "complaint"
            dispatcher.utter_message(text=COMPLAINT_APOLOGY)
        else:
            reason = "requested"
        dispatcher.utter_message(json_message={"handoff": {"reason": reason}})
        return [SlotSet("last_topic", "handoff")]
