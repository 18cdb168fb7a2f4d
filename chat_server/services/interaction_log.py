"""What a visitor's bot turn adds to the interaction event log (docs/analytics.md).

The log rows are written in the turn's own transaction, so analytics never
counts a reply that was not stored, nor misses one that was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chat_server.db import event_queries

# Cards shown per reply that are logged as impressions (the widget renders 10).
MAX_CARDS = 10


def card_impressions(
    outgoing: list[dict[str, Any]], catalog: Mapping[str, str | None]
) -> list[dict[str, Any]]:
    """One impression per product card the bot showed, in display order.

    Only catalog products count, with the catalog's category (not whatever the
    payload claims), so impressions and clicks line up by product.
    """
    shown: list[dict[str, Any]] = []
    for message in outgoing:
        custom = message.get("custom")
        if not isinstance(custom, dict) or custom.get("type") != "product_cards":
            continue
        products = custom.get("products")
        if not isinstance(products, list):
            continue
        for position, product in enumerate(products[:MAX_CARDS]):
            product_id = str(product.get("id")) if isinstance(product, dict) else ""
            if product_id in catalog:
                category = catalog[product_id]
                shown.append({"product_id": product_id, "category": category, "position": position})
    return shown


async def log_lead(session: AsyncSession, visitor_id: str, source: str) -> None:
    """A visitor left an e-mail address: one lead per visitor, whatever the path."""
    await event_queries.log_event_once(
        session, "lead_captured", visitor_id, f"lead:{visitor_id}", {"source": source}
    )
