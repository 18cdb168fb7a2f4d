"""Handoff episodes from transitions and agent messages (pure; no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chat_server.services.analytics.episodes import Event, episodes

T0 = datetime(2026, 3, 10, 12, tzinfo=UTC)


def move(s: float, origin: str, to: str, agent: int | None = None) -> Event:
    data: dict[str, Any] = {"from": origin, "to": to, "agent_id": agent}
    return Event("handoff_transition", 1, T0 + timedelta(seconds=s), data)


def says(s: float, agent: int) -> Event:
    return Event("agent_message", 1, T0 + timedelta(seconds=s), {"agent_id": agent})


def test_a_hand_back_ends_the_handoff_and_the_next_one_is_timed_afresh() -> None:
    found = episodes(
        [
            move(0, "bot", "queued"),
            move(20, "queued", "assigned", 7),
            says(30, 7),
            move(100, "assigned", "bot", 7),
            says(500, 7),  # an agent line while the bot has it: no episode
            move(1000, "bot", "queued"),
            move(1040, "queued", "assigned", 8),
            says(1100, 8),
            move(1300, "assigned", "resolved", 8),
        ]
    )
    assert len(found) == 2
    first, second = found
    assert first.ended_to == "bot" and first.resolution() is None
    first_wait = first.wait()
    assert first_wait is not None and first_wait[2] == 20.0
    assert (second.wait() or (0, 0, 0))[2] == 40.0
    assert (second.first_response_seconds() or (0, 0, 0))[::2] == (8, 100.0)
    assert (second.resolution() or (0, 0, 0))[::2] == (8, 300.0)


def test_a_barge_in_has_no_wait_and_a_requeue_stays_in_the_handoff() -> None:
    barge = episodes(
        [move(0, "bot", "assigned", 3), says(10, 3), move(90, "assigned", "resolved", 3)]
    )
    assert barge[0].wait() is None and not barge[0].queued
    assert (barge[0].resolution() or (0, 0, 0))[2] == 90.0
    requeued = episodes(
        [
            move(0, "bot", "queued"),
            move(30, "queued", "assigned", 2),
            move(90, "assigned", "queued"),
            move(150, "queued", "assigned", 1),
            says(160, 1),
            move(400, "assigned", "resolved", 1),
        ]
    )
    assert len(requeued) == 1
    assert [a for a, _ in requeued[0].assignments] == [2, 1]
    assert (requeued[0].first_response_seconds() or (0, 0, 0))[::2] == (1, 160.0)


def test_out_of_order_input_is_sorted_and_unfinished_handoffs_have_no_times() -> None:
    found = episodes([move(300, "queued", "bot"), move(0, "bot", "queued")])
    assert len(found) == 1 and found[0].ended_to == "bot"
    still = episodes([move(0, "bot", "queued")])
    assert still[0].ended_to is None
    assert still[0].wait() is None and still[0].first_response_seconds() is None
