"""Session start: carry the profile over compactly and summarise the last session.

Rasa's default ``action_session_start`` re-emits *every* ``SlotSet`` event of
the ending session, including the ones it carried over itself, so each new
session starts with all slot events of all earlier sessions: a loyal
visitor's tracker, and every turn's cost, grows with their lifetime
(measured: ~150 SlotSet events per slot after 40 sessions, p50 reply time
100 ms → 300 ms). Here each slot is carried over once, with its current
value, and the ending session is folded into ``session_summaries`` — the
long-term memory actions and agents read instead of old dialogue history.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

MAX_SUMMARIES = 10
# Dialogue-control slots belong to one session only; so does the campaign
# opener that started a session (actions/campaigns.py).
NOT_CARRIED = {
    "requested_slot",
    "session_started_metadata",
    "session_summaries",
    "campaign",
    "campaign_variant",
    "campaign_content",
}


def said_by_visitor(event: dict[str, Any]) -> bool:
    """A user turn the visitor said (not one triggered by the chat server,
    such as a campaign opener, which Rasa marks ``metadata.is_external``)."""
    if event.get("event") != "user":
        return False
    metadata = event.get("metadata") or (event.get("parse_data") or {}).get("metadata") or {}
    return not (isinstance(metadata, dict) and metadata.get("is_external") is True)


def summarise_session(events: list[dict[str, Any]], slots: dict[str, Any]) -> dict[str, Any] | None:
    """A compact record of one session: when, what about, what happened."""
    user_turns = [e for e in events if said_by_visitor(e)]
    if not user_turns:
        return None
    intents = []
    for event in user_turns:
        name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if name and name not in intents:
            intents.append(name)
    actions = {e.get("name") for e in events if e.get("event") == "action"}
    return {
        "ended_at": user_turns[-1].get("timestamp"),
        "turns": len(user_turns),
        "intents": intents[:8],
        "topic": slots.get("last_topic"),
        "handoff": "action_handoff" in actions,
        "recommended": list(slots.get("products_recommended") or [])[-4:],
    }


class ActionSessionStart(Action):
    """Start a session with one SlotSet per remembered slot and a session summary."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        slots = tracker.current_slot_values()
        events: list[EventType] = [SessionStarted()]
        for name, value in slots.items():
            if name not in NOT_CARRIED and value not in (None, [], ""):
                events.append(SlotSet(name, value))
        summaries = list(slots.get("session_summaries") or [])
        summary = summarise_session(tracker.events, slots)
        if summary is not None:
            summaries = ([*summaries, summary])[-MAX_SUMMARIES:]
        if summaries:
            events.append(SlotSet("session_summaries", summaries))
        events.append(ActionExecuted("action_listen"))
        return events
