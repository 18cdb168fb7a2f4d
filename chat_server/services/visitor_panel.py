"""The visitor panel of a conversation's detail view: who the visitor is, the pages
they came through, what the bot understood and which products it showed.

Pure functions over rows already loaded (services/desk.py reads them), so the
panel's rules are unit-tested without a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chat_server.db.email_models import OutgoingEmail
from chat_server.db.models import Conversation, Message, Visitor
from chat_server.services.serialize import iso


def recent_pages(recent: Sequence[Message]) -> list[dict[str, Any]]:
    """Distinct page URLs of ``recent`` (newest first), with when each was first seen there."""
    pages: list[dict[str, Any]] = []
    for m in recent:
        if m.page_url and all(p["url"] != m.page_url for p in pages):
            pages.append({"url": m.page_url, "at": iso(m.created_at)})
    return pages


def last_intents(recent: Sequence[Message]) -> list[dict[str, Any]]:
    """The intents of the visitor's latest five classified messages (newest first)."""
    return [
        {"intent": m.intent, "confidence": m.confidence, "text": m.text}
        for m in recent
        if m.direction == "visitor" and m.intent
    ][:5]


def products_shown(recent: Sequence[Message]) -> list[str]:
    """Ids of the products the bot's product cards showed, oldest first, each once."""
    shown: list[str] = []
    for m in reversed(recent):
        custom = (m.payload or {}).get("custom") if m.direction == "bot" else None
        if isinstance(custom, dict) and custom.get("type") == "product_cards":
            for product in custom.get("products") or []:
                if isinstance(product, dict) and product.get("id") not in shown:
                    shown.append(str(product.get("id")))
    return shown


def email_json(email: OutgoingEmail) -> dict[str, Any]:
    """One email about the conversation, for the console (what, to whom, how it went)."""
    return {
        "id": email.id,
        "kind": email.kind,
        "status": email.status,
        "to": email.to_address or None,
        "attempts": email.attempts,
        "last_error": email.last_error,
        "created_at": iso(email.created_at),
        "sent_at": iso(email.sent_at) if email.sent_at else None,
    }


def detail_json(
    conversation: Conversation,
    summary: dict[str, Any],
    visitor: Visitor | None,
    online: bool,
    consents: list[dict[str, Any]],
    recent: Sequence[Message],
) -> dict[str, Any]:
    """Conversation, visitor panel and context summary; ``recent`` is the visitor's
    latest messages, newest first."""
    profile = dict(visitor.profile or {}) if visitor else {}
    return {
        "conversation": summary,
        "visitor": {
            "id": conversation.visitor_id,
            "name": visitor.name if visitor else None,
            "email": visitor.email if visitor else None,
            "external_id": visitor.external_id if visitor else None,
            "created_at": iso(visitor.created_at) if visitor else None,
            "last_seen_at": iso(visitor.last_seen_at) if visitor else None,
            "online": online,
            "profile": profile,
            "recent_pages": recent_pages(recent)[:10],
            "consents": consents[-10:],
        },
        "context": {
            "handoff_reason": conversation.handoff_reason,
            "last_intents": last_intents(recent),
            "products_shown": products_shown(recent)[-20:],
            "products_clicked": profile.get("products_clicked") or [],
            "products_declined": profile.get("products_declined") or [],
        },
    }
