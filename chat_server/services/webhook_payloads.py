"""What a webhook delivery is: its topics, signature, retry schedule and JSON
shapes (pure; the worker and the admin API are services/webhooks.py)."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import timedelta
from typing import Any

from chat_server.db.models import InteractionEvent, WebhookDelivery, WebhookEndpoint
from chat_server.services.serialize import iso

# Topic -> the event types it carries (a handoff_transition only when resolved).
TOPICS: dict[str, tuple[str, ...]] = {
    "conversation.created": ("conversation_started",),
    # A failed bot turn still stores (and sends) an apology from the bot.
    "message.created": (
        "message_received",
        "bot_replied",
        "rasa_unavailable",
        "action_server_unavailable",
        "agent_message",
    ),
    "handoff": ("handoff_requested",),
    "conversation.resolved": ("handoff_transition",),
    "csat": ("csat",),
    "conversion": ("conversion", "conversion_verified"),
    "lead": ("lead_captured",),
    # Proactive campaigns (docs/campaigns.md): an opener shown, a goal credited.
    "campaign.shown": ("campaign_shown",),
    "campaign.converted": ("campaign_converted",),
}
MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(hours=6)


def topics_of(event: InteractionEvent) -> list[str]:
    """The topics an event belongs to."""
    found = [topic for topic, types in TOPICS.items() if event.type in types]
    if event.type == "handoff_transition" and (event.data or {}).get("to") != "resolved":
        return []
    return found


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, "<timestamp>.<body>")."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def backoff(attempts: int, base: float) -> timedelta:
    """Delay before attempt ``attempts + 1``: base x 3^(n-1), jittered, at most 6 h."""
    seconds = min(base * 3 ** max(0, attempts - 1), MAX_BACKOFF.total_seconds())
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311 - jitter


def endpoint_json(
    endpoint: WebhookEndpoint, counts: dict[str, int] | None = None
) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "topics": endpoint.topics,
        "enabled": endpoint.enabled,
        "created_at": iso(endpoint.created_at),
        "deliveries": counts or {},
    }


def delivery_json(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "topic": delivery.topic,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "next_attempt_at": iso(delivery.next_attempt_at) if delivery.status == "pending" else None,
        "created_at": iso(delivery.created_at),
        "delivered_at": iso(delivery.delivered_at),
    }
