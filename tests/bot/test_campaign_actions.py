"""Campaign opener actions (actions/campaigns.py) on trackers built by hand.

The same behaviour on a real trained model, through Rasa's HTTP API, is in
test_campaign_opener_live.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rasa_sdk import Tracker

from actions.campaigns import (
    ActionCampaignFollowup,
    ActionCampaignOpener,
    Content,
    parse_content,
)
from actions.session import ActionSessionStart, summarise_session
from conftest import run_action, slot_events

CONTENT = {
    "text": "Planning a trip? Our tents are 20% off this week.",
    "buttons": [{"title": "Show me tents", "payload": '/find_product{"product_category":"tents"}'}],
    "quick_replies": ["Yes please", "No thanks"],
    "products": True,
    "followup": "Great! Use code TRAIL20 at checkout.",
}


def external_tracker(
    entities: dict[str, Any], slots: dict[str, Any] | None = None, external: bool = True
) -> Tracker:
    """The tracker an action sees right after ``trigger_intent`` (or a typed
    ``/campaign_opener`` when ``external`` is false)."""
    text = "EXTERNAL: campaign_opener" if external else "/campaign_opener"
    message = {
        "text": text,
        "intent": {"name": "campaign_opener"},
        "entities": [{"entity": k, "value": v} for k, v in entities.items()],
        "metadata": {"is_external": True} if external else {"message_id": 7},
    }
    return Tracker(
        "visitor",
        dict(slots or {}),
        message,
        [{"event": "user", "text": text, "parse_data": message, "metadata": message["metadata"]}],
        False,
        None,
        {},
        "action_listen",
    )


def answer_tracker(intent: str, text: str, slots: dict[str, Any]) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": []}
    return Tracker(
        "visitor",
        slots,
        message,
        [{"event": "user", "text": text, "parse_data": message}],
        False,
        None,
        {},
        "action_listen",
    )


def cards_of(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        p
        for m in messages
        if (m.get("custom") or {}).get("type") == "product_cards"
        for p in m["custom"]["products"]
    ]


# ---------- content (pure) ----------


def test_content_is_read_from_an_object_or_its_json_text() -> None:
    from_object = parse_content(CONTENT)
    assert from_object == parse_content(json.dumps(CONTENT))
    assert from_object == Content(
        text=CONTENT["text"],
        buttons=(
            ("Show me tents", '/find_product{"product_category":"tents"}'),
            ("Yes please", "Yes please"),
            ("No thanks", "No thanks"),
        ),
        products=True,
        followup="Great! Use code TRAIL20 at checkout.",
    )


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "{not json",
        '"just a string"',
        "Hello there",
        ["text"],
        42,
        {},
        {"text": ""},
        {"text": "   "},
        {"text": 12},
        {"text": {"nested": "object"}},
        {"buttons": [{"title": "Yes", "payload": "/affirm"}]},
    ],
)
def test_content_without_usable_text_is_refused(raw: Any) -> None:
    assert parse_content(raw) is None


def test_bad_buttons_are_dropped_and_values_are_bounded() -> None:
    content = parse_content(
        {
            "text": "x" * 5000,
            "buttons": [
                {"title": "Ok", "payload": "/affirm"},
                {"title": "", "payload": "/deny"},
                {"title": "No payload"},
                {"title": "Long payload", "payload": "/" + "a" * 600},
                {"payload": "/greet"},
                "   ",
                7,
                {"title": "Ok", "payload": "/affirm"},
            ],
            "quick_replies": "not a list",
            "products": "true",
            "followup": ["not", "text"],
        }
    )
    assert content is not None
    assert len(content.text) == 1000 and content.text.endswith("…")
    assert content.buttons == (("Ok", "/affirm"), ("No payload", "No payload"))
    assert content.products is False  # only a real boolean true shows products
    assert content.followup is None
    many = parse_content({"text": "hi", "quick_replies": [f"r{i}" for i in range(20)]})
    assert many is not None and len(many.buttons) == 6


# ---------- action_campaign_opener ----------


def test_opener_says_the_variant_content_and_records_campaign_and_variant() -> None:
    content = {k: v for k, v in CONTENT.items() if k != "products"}
    tracker = external_tracker(
        {"campaign": 12, "campaign_variant": "b", "campaign_content": content}
    )
    events, messages = run_action(ActionCampaignOpener(), tracker)
    assert messages[0]["text"] == CONTENT["text"]
    assert [b["title"] for b in messages[0]["buttons"]] == [
        "Show me tents",
        "Yes please",
        "No thanks",
    ]
    assert not cards_of(messages)
    slots = slot_events(events)
    assert slots["campaign"] == "12"
    assert slots["campaign_variant"] == "b"
    assert slots["campaign_content"]["followup"] == CONTENT["followup"]


def test_opener_with_products_recommends_from_remembered_interests() -> None:
    tracker = external_tracker(
        {"campaign": "12", "campaign_variant": "a", "campaign_content": CONTENT},
        slots={"interests": ["backpacks", "tents"], "budget": 200.0},
    )
    events, messages = run_action(ActionCampaignOpener(), tracker)
    cards = cards_of(messages)
    assert cards and all(c["category"] == "backpacks" and c["price"] <= 200 for c in cards)
    assert slot_events(events)["products_recommended"] == [c["id"] for c in cards]


@pytest.mark.parametrize(
    "entities",
    [
        {},
        {"campaign": "12", "campaign_variant": "a"},
        {"campaign": "12", "campaign_variant": "a", "campaign_content": "{not json"},
        {"campaign": "12", "campaign_variant": "a", "campaign_content": {"text": None}},
        {"campaign": "12", "campaign_variant": "a", "campaign_content": ["a", "list"]},
    ],
)
def test_missing_or_malformed_content_gets_the_generic_opener(entities: dict[str, Any]) -> None:
    tracker = external_tracker(
        entities, slots={"campaign_content": {"text": "An earlier campaign's opener"}}
    )
    events, messages = run_action(ActionCampaignOpener(), tracker)
    assert messages == [
        {
            "text": None,
            "buttons": [],
            "elements": [],
            "custom": {},
            "template": "utter_campaign_generic",
            "response": "utter_campaign_generic",
            "image": None,
            "attachment": None,
        }
    ]
    # The previous opener's content is not kept for this one's follow-up.
    assert slot_events(events)["campaign_content"] is None


def test_a_typed_campaign_opener_is_answered_generically_and_sets_nothing() -> None:
    tracker = external_tracker(
        {"campaign": "12", "campaign_variant": "b", "campaign_content": CONTENT}, external=False
    )
    events, messages = run_action(ActionCampaignOpener(), tracker)
    assert [m.get("response") for m in messages] == ["utter_campaign_generic"]
    assert slot_events(events) == {
        "campaign": None,
        "campaign_variant": None,
        "campaign_content": None,
    }


# ---------- action_campaign_followup ----------


def test_yes_gets_the_follow_up_text() -> None:
    slots = {"campaign_content": parse_content(CONTENT).as_slot()}  # type: ignore[union-attr]
    events, messages = run_action(
        ActionCampaignFollowup(), answer_tracker("affirm", "yes please", slots)
    )
    assert [m["text"] for m in messages] == [CONTENT["followup"]]
    assert events == []


def test_yes_without_a_follow_up_text_recommends_products() -> None:
    slots = {
        "campaign_content": {"text": "Need a hand?"},
        "interests": ["tents"],
    }
    events, messages = run_action(ActionCampaignFollowup(), answer_tracker("affirm", "yes", slots))
    cards = cards_of(messages)
    assert cards and all(c["category"] == "tents" for c in cards)
    assert messages[0]["text"] == "Here are some tents picked for you:"
    assert slot_events(events)["products_recommended"] == [c["id"] for c in cards]


def test_no_is_acknowledged_without_a_push() -> None:
    slots = {"campaign_content": parse_content(CONTENT).as_slot()}  # type: ignore[union-attr]
    events, messages = run_action(
        ActionCampaignFollowup(), answer_tracker("deny", "no thanks", slots)
    )
    assert [m.get("response") for m in messages] == ["utter_campaign_declined"]
    assert not cards_of(messages) and events == []


# ---------- sessions ----------


def test_campaign_slots_are_not_carried_into_a_new_session() -> None:
    tracker = Tracker(
        "visitor",
        {"name": "Priya", "campaign": "12", "campaign_variant": "b", "campaign_content": CONTENT},
        {},
        [],
        False,
        None,
        {},
        "action_listen",
    )
    events, _ = run_action(ActionSessionStart(), tracker)
    assert slot_events(events) == {"name": "Priya"}


def test_a_session_with_only_an_opener_has_no_visitor_turns_to_summarise() -> None:
    opener = {
        "event": "user",
        "text": "EXTERNAL: campaign_opener",
        "parse_data": {"intent": {"name": "campaign_opener"}},
        "metadata": {"is_external": True},
    }
    assert summarise_session([opener], {}) is None
    reply = {"event": "user", "text": "yes", "parse_data": {"intent": {"name": "affirm"}}}
    summary = summarise_session([opener, reply], {})
    assert summary is not None and summary["turns"] == 1 and summary["intents"] == ["affirm"]
