"""Small helpers shared by the action modules."""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Tracker

from .catalog import CATEGORY_LABELS, Profile

HUMAN_BUTTON = {"title": "Talk to a person", "payload": "/request_human"}


def latest_entity(tracker: Tracker, entity: str) -> Any | None:
    """First value of ``entity`` in the latest user message, if any."""
    return next(tracker.get_latest_entity_values(entity), None)


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message or {}).get("intent", {}).get("name")


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def payload(intent: str, **entities: Any) -> str:
    """A button payload like ``/find_product{"product_category":"tents"}``."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, separators=(',', ':'))}"


def category_buttons(intent: str = "find_product") -> list[dict[str, str]]:
    return [
        {"title": label.capitalize(), "payload": payload(intent, product_category=key)}
        for key, label in CATEGORY_LABELS.items()
    ]


def money(amount: float) -> str:
    return f"${amount:,.0f}" if float(amount).is_integer() else f"${amount:,.2f}"


MAX_INTERESTS = 10
MAX_PRODUCT_HISTORY = 50


def remember_first(values: list[Any] | None, value: Any, limit: int = MAX_INTERESTS) -> list[Any]:
    """``value`` moved to the front of ``values``: most recent first, no duplicates."""
    rest = [v for v in (values or []) if v != value]
    return ([value, *rest])[:limit]


def append_unique(
    values: list[Any] | None, new: list[Any], limit: int = MAX_PRODUCT_HISTORY
) -> list[Any]:
    """``values`` plus ``new`` (no duplicates, oldest dropped beyond ``limit``)."""
    result = [v for v in (values or []) if v not in new] + list(dict.fromkeys(new))
    return result[-limit:]


def list_slot(tracker: Tracker, slot: str) -> list[Any]:
    value = tracker.get_slot(slot)
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _latest_user_index(events: list[dict[str, Any]]) -> int:
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") == "user":
            return i
    return len(events)


def previous_slot_value(tracker: Tracker, slot: str) -> Any:
    """The value ``slot`` had before the latest user message (``None`` if never set
    since the start of the tracker's events)."""
    value = None
    events = tracker.events or []
    for event in events[: _latest_user_index(events)]:
        if event.get("event") == "slot" and event.get("name") == slot:
            value = event.get("value")
        elif event.get("event") in ("reset_slots", "restart"):
            value = None
    return value


def session_events(tracker: Tracker) -> list[dict[str, Any]]:
    """Events of the current session (after the last ``session_started``)."""
    events = tracker.events or []
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") == "session_started":
            return events[i + 1 :]
    return list(events)


def last_shown_product_ids(tracker: Tracker) -> list[str]:
    """Product ids of the cards the bot sent in reply to the previous user message."""
    events = tracker.events or []
    end = _latest_user_index(events)
    ids: list[str] = []
    for event in reversed(events[:end]):
        if event.get("event") == "user":
            break
        if event.get("event") == "bot":
            custom = (event.get("data") or {}).get("custom") or {}
            if isinstance(custom, dict) and custom.get("type") == "product_cards":
                ids = [p["id"] for p in custom.get("products", []) if "id" in p] + ids
    return ids


def profile_from_tracker(tracker: Tracker) -> Profile:
    """The visitor's remembered preferences and product history (from slots)."""
    return Profile(
        interests=[i for i in list_slot(tracker, "interests") if i in CATEGORY_LABELS],
        colors=[c for c in list_slot(tracker, "color") if c],
        sizes=[str(z) for z in list_slot(tracker, "size") if z],
        recommended=[str(i) for i in list_slot(tracker, "products_recommended")],
        clicked=[str(i) for i in list_slot(tracker, "products_clicked")],
        declined=[str(i) for i in list_slot(tracker, "products_declined")],
    )
