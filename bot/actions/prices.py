"""``action_price_info``: price ranges per category or for a named product."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from . import catalog as cat
from .common import category_buttons, latest_entity, latest_text, money, payload
from .data import catalog


class ActionPriceInfo(Action):
    def name(self) -> str:
        return "action_price_info"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        products = catalog()
        events: list[dict[str, Any]] = [SlotSet("last_topic", "prices")]

        product = cat.find_by_name(products, latest_text(tracker))
        if product:
            price = cat.sale_price(product)
            text = f"The {product['name']} is {money(price)}"
            if product.get("discount_percent"):
                text += (
                    f" right now ({product['discount_percent']}% off the usual "
                    f"{money(product['price'])})"
                )
            dispatcher.utter_message(text=text + ".")
            dispatcher.utter_message(
                json_message={
                    "type": "product_cards",
                    "products": [cat.card(product, cat.Criteria(category=product["category"]))],
                }
            )
            category = product["category"]
            return [*events, SlotSet("product_category", category), SlotSet("last_topic", category)]

        category = cat.normalize_category(
            latest_entity(tracker, "product_category") or tracker.get_slot("product_category")
        )
        if category is None:
            low, high, count = cat.price_range(products)
            dispatcher.utter_message(
                text=(
                    f"Our {count} products range from {money(low)} to {money(high)}. "
                    "Which category would you like prices for?"
                ),
                buttons=category_buttons("ask_price"),
            )
            return events

        low, high, count = cat.price_range(products, category)
        label = cat.CATEGORY_LABELS[category]
        on_sale = [p for p in products if p["category"] == category and p.get("discount_percent")]
        text = f"Our {label} range from {money(low)} to {money(high)} ({count} models)."
        if on_sale:
            text += f" {len(on_sale)} of them are on sale right now."
        dispatcher.utter_message(
            text=text,
            buttons=[
                {
                    "title": f"Show me {label}",
                    "payload": payload("find_product", product_category=category),
                }
            ],
        )
        # the category is the topic (the greeting picks it up next visit)
        return [*events, SlotSet("product_category", category), SlotSet("last_topic", category)]
