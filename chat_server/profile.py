"""The visitor profile: which of the bot's slots describe the person.

Rasa's slots are the source of truth; after every turn the chat server copies
these slots into ``visitors.profile`` (and name/email into their columns), so
agents and analytics see the same person the bot sees. Dialogue-control slots
(``requested_slot`` and the like) stay in Rasa.
"""

from __future__ import annotations

from typing import Any

PROFILE_SLOTS = (
    "name",
    "email",
    "marketing_consent",
    "consent_at",
    "interests",
    "color",
    "size",
    "budget",
    "last_topic",
    "products_recommended",
    "products_clicked",
    "products_declined",
    "session_summaries",
)


def profile_from_slots(slots: dict[str, Any]) -> dict[str, Any]:
    """The profile part of a slot snapshot; unset slots are left out."""
    return {k: slots[k] for k in PROFILE_SLOTS if slots.get(k) not in (None, [], "")}
