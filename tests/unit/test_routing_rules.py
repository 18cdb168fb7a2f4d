"""Who may take a chat and the queue wait estimate (chat_server/services/routing.py)."""

from __future__ import annotations

import pytest

from chat_server.services.routing import Candidate, can_take, estimate_wait, refusal

READY = Candidate(role="agent", active=True, status="online", in_grace=False, load=1, max_chats=3)


def test_an_online_connected_agent_with_a_free_seat_can_take_a_chat() -> None:
    assert can_take(READY)
    assert can_take(Candidate(**{**READY.__dict__, "role": "admin"}))


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"role": "marketer"}, "marketers"),
        ({"active": False}, "deactivated"),
        ({"status": "away"}, "away"),
        ({"status": "offline"}, "offline"),
        ({"in_grace": True}, "disconnected"),
        ({"load": 3}, "maximum of 3"),
    ],
)
def test_everyone_else_is_refused_with_a_reason(change: dict[str, object], why: str) -> None:
    reason = refusal(Candidate(**{**READY.__dict__, **change}))
    assert reason is not None and why in reason


def test_no_estimate_without_a_basis_or_without_anyone_to_answer() -> None:
    assert estimate_wait(1, [], seats=3) is None
    assert estimate_wait(1, [30.0, 40.0], seats=3) is None  # too few measured waits
    # Measured waits, but nobody connected who can answer: never a promise.
    assert estimate_wait(1, [30.0, 40.0, 50.0], seats=0) is None


def test_estimate_grows_by_one_median_wait_per_full_round_of_seats() -> None:
    waits = [20.0, 40.0, 60.0, 400.0]  # median 50
    assert estimate_wait(1, waits, seats=2) == 50
    assert estimate_wait(2, waits, seats=2) == 50
    assert estimate_wait(3, waits, seats=2) == 100
    assert estimate_wait(5, waits, seats=1) == 250
    assert estimate_wait(1, [0.0, 0.0, 0.0], seats=1) == 1
