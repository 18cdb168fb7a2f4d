"""Newsletter sign-up: ``newsletter_form`` collects ``email``; consent is recorded on submit."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from .data import policies

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def extract_email(value: Any) -> str | None:
    """The first plausible email address in ``value``, lower-cased, else ``None``."""
    if not isinstance(value, str):
        return None
    match = _EMAIL.search(value)
    return match.group(0).lower() if match else None


class ValidateNewsletterForm(FormValidationAction):
    def name(self) -> str:
        return "validate_newsletter_form"

    async def validate_email(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        email = extract_email(slot_value)
        if email is None:
            dispatcher.utter_message(response="utter_invalid_email")
        return {"email": email}


class ActionSubscribeNewsletter(Action):
    def name(self) -> str:
        return "action_subscribe_newsletter"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        email = tracker.get_slot("email")
        if not extract_email(email):
            dispatcher.utter_message(response="utter_invalid_email")
            return []
        newsletter = policies().get("newsletter") or {}
        # Say exactly what they agreed to: the confirmation is part of the
        # consent record (the chat server stores it with the source).
        # Double opt-in: the chat server records this as pending and emails a
        # confirmation link; nothing is sent until it is opened (docs/email.md).
        text = (
            f"Thanks! To confirm, I've sent a link to {email}: once you open it, "
            f"you agreed to receive our newsletter (new arrivals and deals) by email. "
            f"You can unsubscribe any time."
        )
        if newsletter.get("welcome_code"):
            text += (
                f" Here's {newsletter.get('welcome_discount_percent', 10)}% off your "
                f"first order: code {newsletter['welcome_code']}."
            )
        dispatcher.utter_message(text=text)
        return [
            SlotSet("marketing_consent", True),
            SlotSet("consent_at", datetime.now(timezone.utc).isoformat(timespec="seconds")),
            SlotSet("last_topic", "newsletter"),
        ]
