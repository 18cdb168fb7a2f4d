"""What a Rasa reply means for the chat server, and the profile as the bot's
slots: pure functions (no I/O), used by bot turns and campaign openers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chat_server.db.models import Visitor
from chat_server.profile import profile_from_slots
from chat_server.protocol import agent as agent_protocol
from chat_server.protocol import visitor as protocol
from chat_server.rasa_client import RasaReply

# Turns where the bot could not help: two in a row bring in a person. The bot's
# fallback action also says so with a {"fallback": true} control payload.
FALLBACK_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})


@dataclass
class BotTurn:
    """What the bot's reply to one visitor message means for the chat server."""

    outgoing: list[dict[str, Any]]
    handoff_reason: str | None = None
    fallback: bool = False
    forget: bool = False


def read_reply(reply: RasaReply) -> BotTurn:
    """Split Rasa's messages into what the visitor sees and control instructions.

    Control payloads (``{"handoff": ...}``, ``{"fallback": ...}``,
    ``{"privacy": ...}``) are for the chat server only: never sent, never stored.
    """
    turn = BotTurn(outgoing=[], fallback=reply.intent in FALLBACK_INTENTS)
    for message in reply.messages:
        control = protocol.control_of(message)
        if control is None:
            payload = protocol.to_bot_uttered(message)
            if payload:
                turn.outgoing.append(payload)
            continue
        handoff = control.get("handoff")
        if isinstance(handoff, dict):
            reason = handoff.get("reason")
            turn.handoff_reason = (
                reason
                if reason in (agent_protocol.REASON_REQUESTED, agent_protocol.REASON_COMPLAINT)
                else agent_protocol.REASON_REQUESTED
            )
        if control.get("fallback"):
            turn.fallback = True
        privacy = control.get("privacy")
        if isinstance(privacy, dict) and privacy.get("forget"):
            turn.forget = True
    return turn


# Owned by the chat server, not the bot: marketing consent is granted only by
# the confirmation link (double opt-in, services/email/optin.py). The bot's
# slot ``marketing_consent`` means "asked to subscribe" and is kept as
# ``marketing_consent_requested``.
SERVER_OWNED = ("marketing_consent", "consent_at", "verified_email")
REQUESTED = "marketing_consent_requested"


def bot_view(profile: dict[str, Any]) -> dict[str, Any]:
    """A stored profile as the bot's slots (the inverse of mirror_profile)."""
    slots = {k: v for k, v in profile.items() if k not in SERVER_OWNED and k != REQUESTED}
    if REQUESTED in profile:
        slots["marketing_consent"] = profile[REQUESTED]
    return slots


def mirror_profile(visitor: Visitor, slots: dict[str, Any]) -> None:
    """Copy the bot's view of the visitor (its slots) into the stored profile."""
    before = visitor.profile or {}
    profile = profile_from_slots(slots)
    requested = profile.pop("marketing_consent", None)
    profile.pop("consent_at", None)
    if requested is not None:
        profile[REQUESTED] = requested
    elif REQUESTED in before:
        profile[REQUESTED] = before[REQUESTED]
    profile.update({k: before[k] for k in SERVER_OWNED if k in before})
    visitor.profile = profile
    visitor.name = profile.get("name") or visitor.name
    visitor.email = profile.get("email") or visitor.email
