"""Small helpers shared by the action modules."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker

from .catalog import CATEGORY_LABELS

HUMAN_BUTTON = {"title": "Talk to a person", "payload": "/request_human"}


def latest_entity(tracker: Tracker, entity: str) -> Optional[Any]:
    """First value of ``entity`` in the latest user message, if any."""
    return next(tracker.get_latest_entity_values(entity), None)


def latest_intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message or {}).get("intent", {}).get("name")


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def payload(intent: str, **entities: Any) -> str:
    """A button payload like ``/find_product{"product_category":"tents"}``."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, separators=(',', ':'))}"


def category_buttons(intent: str = "find_product") -> List[Dict[str, str]]:
    return [
        {"title": label.capitalize(), "payload": payload(intent, product_category=key)}
        for key, label in CATEGORY_LABELS.items()
    ]


def money(amount: float) -> str:
    return f"${amount:,.0f}" if float(amount).is_integer() else f"${amount:,.2f}"
