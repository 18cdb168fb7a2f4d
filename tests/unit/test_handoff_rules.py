"""Pure rules of the handoff: control payloads, transitions, support hours."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chat_server.hours import SupportHours
from chat_server.protocol.visitor import split_for_plain_clients
from chat_server.rasa_client import RasaReply
from chat_server.services.bot_reply import read_reply
from chat_server.services.handoff_rules import TRANSITIONS


def test_control_payloads_are_consumed_and_never_shown() -> None:
    turn = read_reply(
        RasaReply(
            messages=[
                {"recipient_id": "v", "text": "I'm really sorry about that."},
                {"recipient_id": "v", "custom": {"handoff": {"reason": "complaint"}}},
                {"recipient_id": "v", "custom": {"privacy": {"forget": True}}},
            ],
            intent="complain",
        )
    )
    assert turn.outgoing == [{"text": "I'm really sorry about that."}]
    assert turn.handoff_reason == "complaint" and turn.forget and not turn.fallback


def test_an_unknown_handoff_reason_from_the_bot_is_recorded_as_requested() -> None:
    turn = read_reply(RasaReply(messages=[{"custom": {"handoff": {"reason": "<script>"}}}]))
    assert turn.handoff_reason == "requested" and turn.outgoing == []


@pytest.mark.parametrize(
    "intent,control,fallback",
    [
        ("nlu_fallback", None, True),
        ("out_of_scope", None, True),
        ("greet", {"fallback": True}, True),  # the core fallback action says so
        ("greet", None, False),
    ],
)
def test_what_counts_as_the_bot_failing(
    intent: str, control: dict[str, Any] | None, fallback: bool
) -> None:
    messages: list[dict[str, Any]] = [{"text": "..."}]
    if control:
        messages.append({"custom": control})
    assert read_reply(RasaReply(messages=messages, intent=intent)).fallback is fallback


def test_product_cards_are_not_control_payloads() -> None:
    cards = {"custom": {"type": "product_cards", "products": []}}
    assert read_reply(RasaReply(messages=[cards])).outgoing == [cards]


def test_no_transition_skips_the_state_machine() -> None:
    assert ("bot", "resolved") not in TRANSITIONS  # only a person resolves
    assert ("queued", "resolved") not in TRANSITIONS  # nobody talked to them
    assert ("resolved", "assigned") not in TRANSITIONS  # resolved is final
    assert {to for _, to in TRANSITIONS} == {"queued", "assigned", "resolved", "bot"}


def test_support_hours() -> None:
    hours = SupportHours.parse("mon-fri 09:00-17:00 Europe/Berlin")
    monday_10_berlin = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert hours.is_open(monday_10_berlin)
    assert not hours.is_open(datetime(2026, 11, 23, 16, 30, tzinfo=UTC))  # 17:30 in Berlin
    assert not hours.is_open(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))  # Sunday
    weekend = SupportHours.parse("sat-sun 00:00-24:00")
    assert weekend.is_open(datetime(2026, 11, 22, 23, 59, tzinfo=UTC))


@pytest.mark.parametrize(
    "spec",
    [
        "weekdays 9-5",
        "mon-fri 17:00-09:00",
        "mon-fri 09:00-17:00 Mars/Olympus",
        "fun 09:00-10:00",
    ],
)
def test_bad_support_hours_are_refused_with_a_reason(spec: str) -> None:
    with pytest.raises(ValueError, match=r"SUPPORT_HOURS|unknown day"):
        SupportHours.parse(spec)


def test_rapport_markers_reach_only_rapport_clients() -> None:
    warning = {"text": "Sorry...", "custom": {"type": "assistant_unavailable"}}
    assert split_for_plain_clients(warning) == (
        {"text": "Sorry..."},
        {"custom": {"type": "assistant_unavailable"}},
    )
    cards = {"custom": {"type": "product_cards", "products": []}}
    assert split_for_plain_clients(cards) == (cards, {})  # the bot's own payloads pass
