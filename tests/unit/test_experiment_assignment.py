"""Deterministic assignment (chat_server/services/experiments/assignment.py): stable,
even (chi-square over 10,000 simulated visitors), independent across experiments."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, chisquare

from chat_server.services.experiments.assignment import (
    CONTROL,
    allocation,
    bucket,
    choose_arm,
    unit_interval,
)
from chat_server.services.experiments.errors import ExperimentInputError

VISITORS = [f"v-{i:05d}" for i in range(10_000)]


def split(arms: list[tuple[str, float]], experiment: str = "campaign-7:v1") -> Counter[str]:
    return Counter(choose_arm(arms, bucket(experiment, unit)) for unit in VISITORS)


def test_bucket_is_sha256_of_key_and_unit() -> None:
    """The hash is part of the contract: changing it would re-bucket every running
    experiment. Pinned against hashlib directly and against one literal value."""
    digest = hashlib.sha256(b"campaign-7:v1:visitor-42").hexdigest()
    assert bucket("campaign-7:v1", "visitor-42") == (int(digest[:16], 16) >> 11) / 2**53
    assert bucket("exp", "unit") == pytest.approx(0.0641020224, abs=1e-10)
    assert bucket("exp", "unit") == bucket("exp", "unit")
    assert bucket("exp", "unit") != bucket("exp2", "unit")


def test_unit_interval_never_reaches_one() -> None:
    assert unit_interval(b"\x00" * 32) == 0.0
    assert unit_interval(b"\xff" * 32) < 1.0
    assert unit_interval(b"\xff" * 8) == (2**53 - 1) / 2**53
    with pytest.raises(ExperimentInputError):
        unit_interval(b"\xff" * 7)


@pytest.mark.parametrize(
    "arms",
    [
        allocation(0.1, [("a", 1.0), ("b", 1.0)]),  # 10 / 45 / 45
        [(CONTROL, 0.5), ("a", 0.5)],
        allocation(0.2, [("a", 3.0), ("b", 1.0)]),  # 20 / 60 / 20
    ],
)
def test_ten_thousand_visitors_split_as_configured(arms: list[tuple[str, float]]) -> None:
    counts = split(arms)
    observed = [counts[key] for key, _ in arms]
    expected = [w * len(VISITORS) for _, w in arms]
    _, p = chisquare(observed, expected)
    assert p > 0.001, (observed, expected)


def test_a_skewed_hash_would_be_caught() -> None:
    """The balance check above can fail: squaring the bucket (a plausible bug, e.g. a
    biased reduction) puts 31.6 % instead of 10 % in a 10 % holdout."""
    arms = allocation(0.1, [("a", 1.0), ("b", 1.0)])
    counts = Counter(choose_arm(arms, bucket("campaign-7:v1", u) ** 2) for u in VISITORS)
    _, p = chisquare([counts[k] for k, _ in arms], [w * len(VISITORS) for _, w in arms])
    assert p < 1e-6


def test_experiments_split_independently() -> None:
    """The arm in one experiment says nothing about the arm in another (contingency test)."""
    arms = [(CONTROL, 0.5), ("a", 0.5)]
    pairs = Counter(
        (choose_arm(arms, bucket("exp-1", u)), choose_arm(arms, bucket("exp-2", u)))
        for u in VISITORS
    )
    table = [[pairs[(x, y)] for y in (CONTROL, "a")] for x in (CONTROL, "a")]
    assert chi2_contingency(table).pvalue > 0.001


def test_the_same_allocation_always_gives_the_same_arm() -> None:
    """Stable across calls, rebuilt allocations and processes (nothing but the inputs
    is hashed): a visitor keeps their arm for the experiment's life."""
    first = {
        u: choose_arm(allocation(0.1, [("a", 1), ("b", 1)]), bucket("c:1", u)) for u in VISITORS
    }
    again = {
        u: choose_arm(allocation(0.1, [("a", 5), ("b", 5)]), bucket("c:1", u)) for u in VISITORS
    }
    assert first == again


def test_changing_the_allocation_re_buckets_units() -> None:
    """Why a running experiment's allocation is immutable (a new version instead):
    adding a third arm to 10/45/45 (-> 10/30/30/30) moves every unit whose bucket lies
    in a slice that changed owner: [0.4, 0.55) from a to b and [0.7, 1) from b to c,
    45 % of the visitors."""
    before = allocation(0.1, [("a", 1), ("b", 1)])
    after = allocation(0.1, [("a", 1), ("b", 1), ("c", 1)])
    moved = sum(
        choose_arm(before, bucket("c:1", u)) != choose_arm(after, bucket("c:1", u))
        for u in VISITORS
    )
    assert moved / len(VISITORS) == pytest.approx(0.45, abs=0.02)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.01, 10.0), min_size=1, max_size=6), st.floats(0.0, 0.9))
def test_each_arm_owns_a_slice_as_wide_as_its_weight(raw: list[float], holdout: float) -> None:
    arms = allocation(holdout, [(f"v{i}", w) for i, w in enumerate(raw)])
    assert arms[0] == (CONTROL, holdout)
    assert sum(w for _, w in arms) == pytest.approx(1.0, abs=1e-12)
    grid = 2_000
    counts = Counter(choose_arm(arms, (k + 0.5) / grid) for k in range(grid))
    for key, weight in arms:
        assert counts[key] == pytest.approx(weight * grid, abs=1.5)


def test_choose_arm_edges() -> None:
    arms = [(CONTROL, 0.1), ("a", 0.0), ("b", 0.9)]
    assert choose_arm(arms, 0.0) == CONTROL
    assert choose_arm(arms, 0.1) == "b"  # a has no slice
    assert choose_arm(arms, 0.999999999) == "b"
    # Weights adding up to 1 within 1e-9 are accepted; the top edge still lands in an arm.
    assert choose_arm([("x", 0.5), ("y", 0.5 - 5e-10)], 1 - 1e-12) == "y"


@pytest.mark.parametrize(
    ("arms", "u"),
    [
        ([], 0.5),
        ([("a", 0.5), ("b", 0.4)], 0.5),
        ([("a", 0.5), ("b", 0.5 + 2e-9)], 0.5),
        ([("a", 1.5), ("b", -0.5)], 0.5),
        ([("a", 0.5), ("a", 0.5)], 0.5),
        ([("a", float("nan")), ("b", 1.0)], 0.5),
        ([("a", 1.0)], 1.0),
        ([("a", 1.0)], -0.1),
    ],
)
def test_choose_arm_refuses_weights_that_do_not_add_up(
    arms: list[tuple[str, float]], u: float
) -> None:
    with pytest.raises(ValueError):
        choose_arm(arms, u)


@pytest.mark.parametrize(
    ("holdout", "variants"),
    [
        (-0.1, [("a", 1.0)]),
        (1.0, [("a", 1.0)]),
        (float("nan"), [("a", 1.0)]),
        (0.1, []),
        (0.1, [("control", 1.0)]),
        (0.1, [("a", 1.0), ("a", 1.0)]),
        (0.1, [("a", 0.0)]),
        (0.1, [("a", float("inf"))]),
    ],
)
def test_allocation_refuses_nonsense(holdout: float, variants: list[tuple[str, float]]) -> None:
    with pytest.raises(ExperimentInputError):
        allocation(holdout, variants)
