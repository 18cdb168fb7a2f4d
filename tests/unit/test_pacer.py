"""The per-address packet budget (transport/admission.py, Pacer): pure, no I/O."""

from __future__ import annotations

import pytest

from chat_server.transport.admission import Pacer


def test_a_burst_goes_at_once_and_the_rest_is_spaced_at_the_rate() -> None:
    pacer = Pacer(rate=10, burst=5)
    delays = [pacer.delay("a", now=100.0) for _ in range(8)]
    assert delays[:5] == [0, 0, 0, 0, 0]
    assert delays[5:] == pytest.approx([0.1, 0.2, 0.3])


def test_each_waiting_packet_books_its_own_slot_so_waits_stay_bounded() -> None:
    # 20 connections of one address each with one packet waiting: the last
    # waits (20 - burst) intervals, never more.
    pacer = Pacer(rate=100, burst=1)
    delays = [pacer.delay("a", now=0.0) for _ in range(20)]
    assert max(delays) == pytest.approx(0.19)
    assert delays == sorted(delays)


def test_addresses_do_not_share_a_budget() -> None:
    pacer = Pacer(rate=1, burst=1)
    assert pacer.delay("flood", now=0.0) == 0
    assert pacer.delay("flood", now=0.0) == pytest.approx(1.0)
    assert pacer.delay("bystander", now=0.0) == 0


def test_the_budget_refills_with_time() -> None:
    pacer = Pacer(rate=10, burst=2)
    assert [pacer.delay("a", now=0.0) for _ in range(3)] == pytest.approx([0, 0, 0.1])
    # One second later the budget is whole again (burst 2), not 10 packets' worth.
    assert [pacer.delay("a", now=1.0) for _ in range(3)] == pytest.approx([0, 0, 0.1])


def test_at_the_rate_nothing_ever_waits() -> None:
    pacer = Pacer(rate=10, burst=1)
    assert max(pacer.delay("a", now=i / 10) for i in range(100)) < 1e-9


def test_idle_keys_are_swept() -> None:
    pacer = Pacer(rate=1000, burst=10)
    for i in range(Pacer.SWEEP_EVERY - 1):
        pacer.delay(f"visitor-{i}", now=0.0)
    assert pacer.keys() == Pacer.SWEEP_EVERY - 1
    # The next packet, a minute later, sweeps everyone whose budget is whole.
    pacer.delay("late", now=60.0)
    assert pacer.keys() <= 1
