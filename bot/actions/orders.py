"""Order status: ``order_status_form`` collects ``order_id``; ``action_order_status`` answers."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from .common import HUMAN_BUTTON
from .data import policies

_ORDER_ID = re.compile(r"\b(?:tr)?[\s#-]*(\d{5})\b", re.IGNORECASE)

STATUS_TEXT = {
    "processing": "is being packed and should ship soon",
    "shipped": "has shipped",
    "delivered": "was delivered",
    "return_received": "has been returned to us and your refund is on its way",
}


def normalize_order_id(value: Any) -> str | None:
    """``"tr10023"``, ``"#10023"``, ``"TR 10023"`` → ``"TR-10023"``; else ``None``."""
    if not value:
        return None
    match = _ORDER_ID.search(str(value))
    return f"TR-{match.group(1)}" if match else None


def order_status_text(order_id: str, data: dict[str, Any]) -> str | None:
    order = (data.get("orders") or {}).get(order_id)
    if order is None:
        return None
    status = order["status"]
    text = (
        f"Order {order_id} ({', '.join(order.get('items', []))}) {STATUS_TEXT.get(status, status)}"
    )
    if order.get("carrier"):
        text += f" with {order['carrier']}"
    if order.get("eta"):
        verb = "arrived on" if status == "delivered" else "should arrive by"
        text += f"; it {verb} {order['eta']}"
    return text + "."


class ValidateOrderStatusForm(FormValidationAction):
    def name(self) -> str:
        return "validate_order_status_form"

    async def validate_order_id(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        order_id = normalize_order_id(slot_value)
        if order_id is None:
            dispatcher.utter_message(response="utter_invalid_order_id")
        return {"order_id": order_id}


class ActionOrderStatus(Action):
    def name(self) -> str:
        return "action_order_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        order_id = normalize_order_id(tracker.get_slot("order_id"))
        text = order_status_text(order_id, policies()) if order_id else None
        if text:
            dispatcher.utter_message(text=text)
        else:
            dispatcher.utter_message(
                text=(
                    f"I couldn't find an order {order_id or ''}. Please check the number in "
                    "your confirmation email, or a person from our team can look it up."
                ),
                buttons=[HUMAN_BUTTON],
            )
        # Forget the id so the next status question asks again instead of
        # silently reusing an old order.
        return [SlotSet("order_id", None), SlotSet("last_topic", "order_status")]
