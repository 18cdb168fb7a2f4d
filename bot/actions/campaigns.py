"""Campaign openers: ``action_campaign_opener`` and ``action_campaign_followup``.

The chat server opens a conversation for a campaign with Rasa's
``POST /conversations/{visitor}/trigger_intent``::

    {"name": "campaign_opener",
     "entities": {"campaign": "12", "campaign_variant": "b",
                  "campaign_content": {"text": "...", "buttons": [...],
                                       "quick_replies": [...], "products": true,
                                       "followup": "..."}}}

The entities fill the slots ``campaign``, ``campaign_variant`` and
``campaign_content`` (domain.yml); ``campaign_content`` may also arrive as a
JSON string of that object. What the opener says is the marketer's content,
so openers change without retraining: only the rules for the visitor's answer
(training_data/rules/rules_campaigns.yml) are in the model.

Content is untrusted input: anything missing or malformed gets the generic
opener (``utter_campaign_generic``), never an error and never the raw value.
A ``campaign_opener`` that Rasa did not log as external (a visitor typing
``/campaign_opener``) is answered generically too, and its entities are
ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from . import catalog as cat
from .common import append_unique, latest_intent, profile_from_tracker
from .data import catalog
from .product_search import show_products

CAMPAIGN_SLOTS = ("campaign", "campaign_variant", "campaign_content")
MAX_TEXT = 1000
MAX_BUTTONS = 6
MAX_TITLE = 80
MAX_PAYLOAD = 500
MAX_ID = 100
MAX_CARDS = 3
GENERIC_OPENER = "utter_campaign_generic"
DECLINED = "utter_campaign_declined"


@dataclass(frozen=True)
class Content:
    """A campaign variant's opener, checked."""

    text: str
    buttons: tuple[tuple[str, str], ...] = ()  # (title, payload)
    products: bool = False
    followup: str | None = None

    def as_slot(self) -> dict[str, Any]:
        """The checked content as stored in the ``campaign_content`` slot."""
        slot: dict[str, Any] = {
            "text": self.text,
            "buttons": [{"title": t, "payload": p} for t, p in self.buttons],
            "products": self.products,
        }
        if self.followup:
            slot["followup"] = self.followup
        return slot


def _clean_text(value: Any, limit: int = MAX_TEXT) -> str | None:
    """A non-blank string, stripped and cut to ``limit`` characters; else None."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _button(value: Any) -> tuple[str, str] | None:
    """``{"title", "payload"}`` (payload defaults to the title) or a plain string
    (a quick reply the visitor "says"); None when unusable."""
    if isinstance(value, str):
        title = _clean_text(value, MAX_TITLE)
        return (title, title) if title else None
    if not isinstance(value, dict):
        return None
    title = _clean_text(value.get("title"), MAX_TITLE)
    if title is None:
        return None
    raw_payload = value.get("payload", title)
    payload = raw_payload.strip() if isinstance(raw_payload, str) else ""
    if not payload or len(payload) > MAX_PAYLOAD:
        return None
    return title, payload


def parse_content(raw: Any) -> Content | None:
    """The opener content from the ``campaign_content`` entity (an object or its
    JSON text); None when there is no usable text. Bad buttons are dropped."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    if not isinstance(raw, dict):
        return None
    text = _clean_text(raw.get("text"))
    if text is None:
        return None
    buttons: list[tuple[str, str]] = []
    for key in ("buttons", "quick_replies"):
        values = raw.get(key)
        if not isinstance(values, list):
            continue
        for value in values:
            button = _button(value)
            if button and button not in buttons and len(buttons) < MAX_BUTTONS:
                buttons.append(button)
    return Content(
        text=text,
        buttons=tuple(buttons),
        products=raw.get("products") is True,
        followup=_clean_text(raw.get("followup")),
    )


def _clean_id(value: Any) -> str | None:
    """A campaign id or variant key as text (ids may arrive as numbers)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return _clean_text(str(value), MAX_ID)


def is_external(tracker: Tracker) -> bool:
    """Whether the latest user turn was triggered through Rasa's HTTP API
    (``trigger_intent`` marks it ``metadata.is_external``), not typed."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return isinstance(metadata, dict) and metadata.get("is_external") is True


def _entity(tracker: Tracker, name: str) -> Any:
    """The latest message's value of entity ``name`` (values may be objects)."""
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if isinstance(entity, dict) and entity.get("entity") == name:
            return entity.get("value")
    return None


def recommend_cards(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """Product cards for the visitor from what the bot remembers (latest
    interest, budget, colours, sizes, clicks; never declined products); the
    slot event recording them as recommended, or nothing if none fit."""
    profile = profile_from_tracker(tracker)
    criteria = cat.Criteria(
        category=profile.interests[0] if profile.interests else None,
        max_price=cat.parse_budget(tracker.get_slot("budget")),
    )
    products = catalog()
    result = cat.search(products, criteria, limit=MAX_CARDS, profile=profile)
    if not result.products:
        return []
    clicked = cat.clicked_products(products, profile)
    cards = [cat.card(p, criteria, profile, clicked) for p in result.products]
    dispatcher.utter_message(json_message={"type": "product_cards", "products": cards})
    shown = [c["id"] for c in cards]
    return [SlotSet("products_recommended", append_unique(profile.recommended, shown))]


class ActionCampaignOpener(Action):
    """Says the campaign variant's opener (text, buttons, products)."""

    def name(self) -> str:
        return "action_campaign_opener"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        external = is_external(tracker)
        content = parse_content(_entity(tracker, "campaign_content")) if external else None
        # This trigger's values replace the previous opener's, also when absent.
        events: list[dict[str, Any]] = [
            SlotSet("campaign", _clean_id(_entity(tracker, "campaign")) if external else None),
            SlotSet(
                "campaign_variant",
                _clean_id(_entity(tracker, "campaign_variant")) if external else None,
            ),
            SlotSet("campaign_content", content.as_slot() if content else None),
        ]
        if content is None:
            dispatcher.utter_message(response=GENERIC_OPENER)
            return events
        buttons = [{"title": t, "payload": p} for t, p in content.buttons]
        dispatcher.utter_message(text=content.text, buttons=buttons)
        if content.products:
            events += recommend_cards(dispatcher, tracker)
        return events


class ActionCampaignFollowup(Action):
    """The visitor's yes or no to the opener."""

    def name(self) -> str:
        return "action_campaign_followup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if latest_intent(tracker) == "deny":
            dispatcher.utter_message(response=DECLINED)
            return []
        content = parse_content(tracker.get_slot("campaign_content"))
        if content is not None and content.followup:
            dispatcher.utter_message(text=content.followup)
            return []
        # No follow-up text: recommend, as "what would you recommend for me?" would.
        profile = profile_from_tracker(tracker)
        criteria = cat.Criteria(
            category=profile.interests[0] if profile.interests else None,
            color=cat.normalize_color(tracker.get_slot("color")),
            size=cat.normalize_size(tracker.get_slot("size")),
            max_price=cat.parse_budget(tracker.get_slot("budget")),
        )
        label = cat.CATEGORY_LABELS.get(criteria.category or "")
        intro = (
            f"Here are some {label} picked for you:" if label else "Here are a few picks for you:"
        )
        return show_products(dispatcher, criteria, profile, intro)
