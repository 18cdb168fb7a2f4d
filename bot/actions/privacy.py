"""Forget me: after the visitor confirms, tell the chat server to erase them.

The bot only *asks* for erasure: it sends the custom payload
``{"privacy": {"forget": true}}``; the chat server deletes the visitor from its
own store and from the tracker store and gives them a fresh id. The slots are
reset here too, so nothing remembered leaks even before that happens.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import AllSlotsReset
from rasa_sdk.executor import CollectingDispatcher

FORGET_PAYLOAD = {"privacy": {"forget": True}}


class ActionForgetMe(Action):
    def name(self) -> str:
        return "action_forget_me"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_forgotten")
        dispatcher.utter_message(json_message=FORGET_PAYLOAD)
        return [AllSlotsReset()]
