"""Shipping, returns and promotions answers, all from ``bot/data/policies.yml``."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from . import catalog as cat
from .common import HUMAN_BUTTON, latest_entity, money, payload
from .data import policies


def shipping_text(data: dict[str, Any]) -> str:
    s = data["shipping"]
    return (
        f"Standard shipping is {money(s['standard']['price'])} ({s['standard']['days']}) "
        f"and free on orders over {money(s['free_shipping_threshold'])}. "
        f"Express is {money(s['express']['price'])} ({s['express']['days']}). "
        f"{s['summary']}"
    )


def returns_text(data: dict[str, Any]) -> str:
    r = data["returns"]
    label = " with a free return label" if r.get("free_return_label") else ""
    text = (
        f"You can return items within {r['window_days']} days{label}, as long as they're "
        f"{r['condition']}. Refunds arrive {r['refund_days']}. {r['summary']}"
    )
    if r.get("exceptions"):
        text += f" Exceptions: {', '.join(r['exceptions'])}."
    return text


def promotions_for(data: dict[str, Any], category: str | None) -> list[dict[str, Any]]:
    """Current promotions; with a category, those that apply to it (or sitewide)."""
    promos = data.get("promotions") or []
    if category is None:
        return list(promos)
    return [p for p in promos if not p.get("categories") or category in p["categories"]]


def promotions_text(data: dict[str, Any], category: str | None) -> str:
    promos = promotions_for(data, category)
    if not promos:
        return "There are no promotions running right now."
    lines = [f"• {p['title']} — code {p['code']}" for p in promos]
    head = "Current promotions"
    if category:
        head += f" for {cat.CATEGORY_LABELS.get(category, category)}"
    return f"{head}:\n" + "\n".join(lines)


class ActionShippingInfo(Action):
    def name(self) -> str:
        return "action_shipping_info"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=shipping_text(policies()))
        return [SlotSet("last_topic", "shipping")]


class ActionReturnsInfo(Action):
    def name(self) -> str:
        return "action_returns_info"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=returns_text(policies()), buttons=[HUMAN_BUTTON])
        return [SlotSet("last_topic", "returns")]


class ActionPromotionsInfo(Action):
    def name(self) -> str:
        return "action_promotions_info"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        category = cat.normalize_category(latest_entity(tracker, "product_category"))
        data = policies()
        buttons = [
            {
                "title": f"Shop {cat.CATEGORY_LABELS[c]}",
                "payload": payload("find_product", product_category=c),
            }
            for promo in promotions_for(data, category)
            for c in promo.get("categories", [])
        ][:3]
        if not tracker.get_slot("marketing_consent"):
            buttons.append({"title": "Join the newsletter", "payload": "/subscribe_newsletter"})
        dispatcher.utter_message(text=promotions_text(data, category), buttons=buttons)
        return [SlotSet("last_topic", "promotions")]
