"""action_session_start: one SlotSet per remembered slot, plus a session summary."""

from __future__ import annotations

import asyncio

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.session import MAX_SUMMARIES, ActionSessionStart


def tracker_after_session(slot_events: int, earlier: list | None = None) -> Tracker:
    events = [{"event": "session_started"}]
    for i in range(slot_events):  # the same slots set again and again
        events.append({"event": "slot", "name": "last_topic", "value": f"topic-{i}"})
    events += [
        {
            "event": "user",
            "text": "tents?",
            "timestamp": 10.0,
            "parse_data": {"intent": {"name": "find_product"}},
        },
        {"event": "action", "name": "action_search_products"},
        {
            "event": "user",
            "text": "a person please",
            "timestamp": 20.0,
            "parse_data": {"intent": {"name": "request_human"}},
        },
        {"event": "action", "name": "action_handoff"},
    ]
    slots = {
        "name": "Priya",
        "last_topic": f"topic-{slot_events - 1}",
        "interests": ["tents"],
        "budget": 300.0,
        "products_recommended": ["tent-ridge-2"],
        "requested_slot": "email",
        "color": None,
        "session_summaries": earlier,
    }
    return Tracker("v", slots, {}, events, False, None, {}, "action_listen")


def run(tracker: Tracker) -> list:
    return asyncio.run(ActionSessionStart().run(CollectingDispatcher(), tracker, {}))


def test_each_slot_is_carried_once_with_its_current_value() -> None:
    events = run(tracker_after_session(slot_events=200))
    assert events[0]["event"] == "session_started" and events[-1]["name"] == "action_listen"
    carried = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    slot_events = [e for e in events if e["event"] == "slot"]
    assert len(slot_events) == len(carried), "one SlotSet per slot, however often it was set"
    assert carried["last_topic"] == "topic-199"
    assert carried["name"] == "Priya" and carried["budget"] == 300.0
    assert "requested_slot" not in carried and "color" not in carried


def test_the_ending_session_is_summarised_and_summaries_are_bounded() -> None:
    earlier = [{"turns": 1, "intents": ["greet"]}] * MAX_SUMMARIES
    events = run(tracker_after_session(slot_events=3, earlier=earlier))
    summaries = next(
        e["value"] for e in events if e["event"] == "slot" and e["name"] == "session_summaries"
    )
    assert len(summaries) == MAX_SUMMARIES
    latest = summaries[-1]
    assert latest["turns"] == 2 and latest["intents"] == ["find_product", "request_human"]
    assert latest["handoff"] is True and latest["topic"] == "topic-2"
    assert latest["recommended"] == ["tent-ridge-2"]
