"""The detail view's visitor panel (services/visitor_panel.py): pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chat_server.db.models import Message
from chat_server.services.visitor_panel import last_intents, products_shown, recent_pages

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def message(direction: str, **fields: Any) -> Message:
    return Message(conversation_id=1, visitor_id="v", direction=direction, created_at=AT, **fields)


def cards(*ids: Any) -> dict[str, Any]:
    return {"custom": {"type": "product_cards", "products": [{"id": i} for i in ids]}}


def test_recent_pages_are_distinct_newest_first() -> None:
    newest_first = [
        message("visitor", page_url="/cart"),
        message("visitor", page_url="/shoes"),
        message("bot"),
        message("visitor", page_url="/cart"),
    ]
    pages = recent_pages(newest_first)
    assert [p["url"] for p in pages] == ["/cart", "/shoes"]
    assert pages[0]["at"] == AT.isoformat()


def test_last_intents_are_the_visitors_latest_five_classified_messages() -> None:
    newest_first = [
        message("bot", intent="greet", text="not the visitor's"),
        message("visitor", text="unclassified"),
        *(message("visitor", intent=f"i{n}", confidence=0.5, text=f"t{n}") for n in range(7)),
    ]
    intents = last_intents(newest_first)
    assert [i["intent"] for i in intents] == ["i0", "i1", "i2", "i3", "i4"]
    assert intents[0] == {"intent": "i0", "confidence": 0.5, "text": "t0"}


def test_products_shown_are_the_bots_cards_oldest_first_each_once() -> None:
    newest_first = [
        message("bot", payload=cards("p3", "p1")),
        message("visitor", payload=cards("not-shown")),
        message("bot", payload={"custom": {"type": "other", "products": [{"id": "x"}]}}),
        message("bot", payload=cards("p1", "p2", 7)),
    ]
    assert products_shown(newest_first) == ["p1", "p2", "7", "p3"]
