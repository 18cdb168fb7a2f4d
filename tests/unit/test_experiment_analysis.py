"""stats.analyse: the per-arm table, comparisons and the decision of an experiment."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_server.services.experiments import uplift
from chat_server.services.experiments.errors import ExperimentInputError
from chat_server.services.experiments.stats import Analysis, ArmCounts, analyse, holm

EVEN = {"control": 0.5, "a": 0.5}
THREE = {"control": 0.1, "a": 0.45, "b": 0.45}


def two(control: tuple[int, int], a: tuple[int, int], **kwargs: object) -> Analysis:
    """A 50/50 experiment from (exposed, conversions) per arm, everyone assigned exposed."""
    arms = [ArmCounts("control", control[0], *control), ArmCounts("a", a[0], *a)]
    return analyse(arms, weights=EVEN, **kwargs)  # type: ignore[arg-type]


def test_a_clear_lift_is_a_winner_in_both_modes() -> None:
    for mode in ("sequential", "fixed"):
        result = two((10_000, 500), (10_000, 700), mode=mode)
        assert result.decision == "winner:a" and result.winner == "a"
        (comparison,) = result.comparisons
        assert comparison.significant and comparison.direction == "better"
        assert comparison.absolute is not None and comparison.relative is not None
        assert comparison.absolute.value == pytest.approx(0.02)
        assert comparison.relative.value == pytest.approx(0.4)
        assert comparison.absolute.low > 0 and comparison.relative.low > 0


def test_a_clear_drop_means_control_is_better() -> None:
    assert two((10_000, 500), (10_000, 300)).decision == "control_better"


def test_a_small_difference_is_no_difference_yet() -> None:
    result = two((10_000, 500), (10_000, 520))
    assert result.decision == "no_difference_yet" and result.winner is None
    assert not result.comparisons[0].significant


def test_the_sequential_mode_asks_for_more_evidence_than_a_single_fixed_look() -> None:
    """+12 % on 20,000 per arm: z-test p ~ 0.01, significant at one planned look, not
    (yet) for an interval that may be watched every day."""
    result_fixed = two((20_000, 1000), (20_000, 1120), mode="fixed")
    result_seq = two((20_000, 1000), (20_000, 1120), mode="sequential")
    assert result_fixed.comparisons[0].p_value < 0.05
    assert result_fixed.decision == "winner:a"
    assert result_seq.decision == "no_difference_yet"


def test_below_the_minimum_there_is_not_enough_data() -> None:
    # A large apparent lift, but the control arm has 99 exposed units.
    result = two((99, 20), (101, 60))
    assert result.decision == "not_enough_data" and not result.enough_data
    assert [row.enough_data for row in result.arms] == [False, True]
    assert not result.comparisons[0].significant
    # Four conversions are too few as well, and so are four non-conversions.
    assert two((1_000, 4), (1_000, 60)).decision == "not_enough_data"
    assert two((1_000, 996), (1_000, 900)).decision == "not_enough_data"
    # The minimum is configurable.
    assert two((99, 20), (101, 60), min_exposed=50, mode="fixed").decision == "winner:a"


def test_an_arm_without_exposures_has_no_rate_and_no_comparison() -> None:
    result = two((0, 0), (3, 1))
    assert result.arms[0].rate is None and result.arms[0].rate_low is None
    assert result.comparisons[0].absolute is None and result.comparisons[0].p_value == 1.0
    assert result.decision == "not_enough_data"


def test_sample_ratio_mismatch_is_never_a_winner() -> None:
    # Same rates as a clear winner, but 10,000 vs 9,500 assigned on a 50/50 split.
    arms = [ArmCounts("control", 10_000, 10_000, 500), ArmCounts("a", 9_500, 9_500, 700)]
    result = analyse(arms, weights=EVEN)
    assert result.srm[0].flagged and result.srm[0].p_value is not None
    assert result.srm[0].p_value < 0.001
    assert result.decision == "srm" and result.winner is None


def test_a_mismatch_in_exposures_alone_is_flagged() -> None:
    """Assignment is balanced but one arm logs fewer exposures (an exposure-logging bug,
    e.g. control's "would have shown" missing): the arms are not comparable."""
    arms = [ArmCounts("control", 10_000, 9_000, 450), ArmCounts("a", 10_000, 10_000, 700)]
    result = analyse(arms, weights=EVEN)
    assert not result.srm[0].flagged and result.srm[1].flagged
    assert result.decision == "srm"


def test_a_holdout_split_is_not_a_mismatch() -> None:
    arms = [
        ArmCounts("control", 1_000, 1_000, 50),
        ArmCounts("a", 4_500, 4_500, 230),
        ArmCounts("b", 4_500, 4_500, 225),
    ]
    result = analyse(arms, weights=THREE)
    assert not any(check.flagged for check in result.srm)
    assert result.srm[0].p_value == pytest.approx(1.0)
    assert result.decision == "no_difference_yet"


def test_several_variants_use_holm_and_simultaneous_intervals() -> None:
    arms = [
        ArmCounts("control", 2_000, 2_000, 100),
        ArmCounts("a", 9_000, 9_000, 720),
        ArmCounts("b", 9_000, 9_000, 460),
    ]
    result = analyse(arms, weights=THREE)
    assert result.interval_alpha == pytest.approx(0.025)
    a, b = result.comparisons
    assert [a.adjusted_p_value, b.adjusted_p_value] == pytest.approx(holm([a.p_value, b.p_value]))
    expected = uplift.absolute_uplift(100, 2_000, 720, 9_000, alpha=0.025)
    assert a.absolute == expected
    assert result.decision == "winner:a"
    assert a.direction == "better" and b.direction == "none"


def test_with_two_winners_the_larger_lift_is_named() -> None:
    arms = [
        ArmCounts("control", 10_000, 10_000, 500),
        ArmCounts("a", 10_000, 10_000, 700),
        ArmCounts("b", 10_000, 10_000, 800),
    ]
    thirds = {"control": 1 / 3, "a": 1 / 3, "b": 1 / 3}
    result = analyse(arms, weights=thirds)
    assert [c.direction for c in result.comparisons] == ["better", "better"]
    assert result.decision == "winner:b"


def test_control_is_better_only_when_every_variant_is_worse() -> None:
    thirds = {"control": 1 / 3, "a": 1 / 3, "b": 1 / 3}

    def decide(a: int, b: int) -> str:
        arms = [
            ArmCounts("control", 10_000, 10_000, 500),
            ArmCounts("a", 10_000, 10_000, a),
            ArmCounts("b", 10_000, 10_000, b),
        ]
        return analyse(arms, weights=thirds).decision

    assert decide(300, 310) == "control_better"
    assert decide(300, 500) == "no_difference_yet"


def test_fixed_mode_waits_for_the_planned_sample_size() -> None:
    planned = two((10_000, 500), (10_000, 700), mode="fixed", planned_exposed=12_000)
    assert planned.decision == "not_enough_data"
    reached = two((12_000, 600), (12_000, 840), mode="fixed", planned_exposed=12_000)
    assert reached.decision == "winner:a"


@pytest.mark.parametrize(
    ("arms", "weights", "kwargs"),
    [
        ([ArmCounts("a", 1, 1, 0), ArmCounts("b", 1, 1, 0)], {"a": 0.5, "b": 0.5}, {}),
        ([ArmCounts("control", 1, 1, 0)], {"control": 1.0}, {}),
        ([ArmCounts("control", 1, 1, 0), ArmCounts("control", 1, 1, 0)], EVEN, {}),
        ([ArmCounts("control", 1, 1, 0), ArmCounts("a", 1, 1, 0)], {"control": 0.5}, {}),
        ([ArmCounts("control", 1, 1, 0), ArmCounts("a", 1, 1, 0)], {"control": 0.5, "a": 0.6}, {}),
        ([ArmCounts("control", 1, 1, 0), ArmCounts("a", 1, 1, 0)], {"control": 1.0, "a": 0.0}, {}),
        ([ArmCounts("control", 1, 1, 2), ArmCounts("a", 1, 1, 0)], EVEN, {}),
        ([ArmCounts("control", 1, -1, 0), ArmCounts("a", 1, 1, 0)], EVEN, {}),
        ([ArmCounts("control", 1, 1, 0), ArmCounts("a", 1, 1, 0)], EVEN, {"mode": "bayesian"}),
        ([ArmCounts("control", 1, 1, 0), ArmCounts("a", 1, 1, 0)], EVEN, {"alpha": 0.0}),
        ([ArmCounts("control", 1, 1, 0), ArmCounts("a", 1, 1, 0)], EVEN, {"min_exposed": -1}),
        ([ArmCounts("control", 1, 1, 0), ArmCounts("a", 1, 1, 0)], EVEN, {"planned_exposed": 0}),
    ],
)
def test_nonsense_is_refused(
    arms: list[ArmCounts], weights: dict[str, float], kwargs: dict[str, object]
) -> None:
    with pytest.raises(ExperimentInputError):
        analyse(arms, weights=weights, **kwargs)  # type: ignore[arg-type]


@st.composite
def experiments(draw: st.DrawFn) -> tuple[list[ArmCounts], dict[str, float]]:
    keys = [
        "control",
        *draw(st.lists(st.sampled_from("abcd"), min_size=1, max_size=3, unique=True)),
    ]
    arms = []
    for key in keys:
        exposed = draw(st.integers(0, 50_000))
        assigned = exposed + draw(st.integers(0, 1_000))
        arms.append(ArmCounts(key, assigned, exposed, draw(st.integers(0, exposed))))
    raw = [draw(st.floats(0.05, 1.0)) for _ in keys]
    return arms, {k: w / sum(raw) for k, w in zip(keys, raw, strict=True)}


@settings(max_examples=150, deadline=None)
@given(experiments(), st.sampled_from(["sequential", "fixed"]))
def test_every_decision_follows_the_rules(
    experiment: tuple[list[ArmCounts], dict[str, float]], mode: str
) -> None:
    arms, weights = experiment
    result = analyse(arms, weights=weights, mode=mode)  # type: ignore[arg-type]
    assert [c.adjusted_p_value for c in result.comparisons] == pytest.approx(
        holm([c.p_value for c in result.comparisons])
    )
    if any(check.flagged for check in result.srm):
        assert result.decision == "srm"
    elif not result.enough_data:
        assert result.decision == "not_enough_data"
    if result.winner is not None:
        assert result.decision == f"winner:{result.winner}"
        (best,) = [c for c in result.comparisons if c.arm == result.winner]
        assert best.absolute is not None and best.absolute.low > 0
        assert best.adjusted_p_value < result.alpha
    for row, arm in zip(result.arms, arms, strict=True):
        assert row.rate is None or (row.rate_low is not None and row.rate_low <= row.rate)
        assert row.weight == pytest.approx(weights[arm.key])
    for c in result.comparisons:
        assert not c.significant or (
            c.absolute is not None and not (c.absolute.low <= 0 <= c.absolute.high)
        )


@pytest.mark.slow
def test_aa_simulation_of_whole_analyses_with_daily_looks() -> None:
    """End to end: 300 simulated A/A experiments with a 10/45/45 split (two variants, so
    Holm and simultaneous intervals), 400 visitors a day, 5 %, analysed with ``analyse``
    every other day for four weeks. A false positive is any look at which any variant is
    ``significant`` (what a winner or "control better" rests on). The sequential mode
    has at most alpha of them; the fixed mode read at every look has far more."""
    rng = np.random.default_rng(2103_06476)
    sims, looks, per_look, rate = 300, 14, 800, 0.05
    shares = np.array([0.1, 0.45, 0.45])
    found = {"sequential": 0, "fixed": 0}
    for _ in range(sims):
        counts = np.zeros(3, dtype=np.int64)
        conversions = np.zeros(3, dtype=np.int64)
        stopped = {"sequential": False, "fixed": False}
        for _ in range(looks):
            new = rng.multinomial(per_look, shares)
            counts += new
            conversions += rng.binomial(new, rate)
            arms = [
                ArmCounts(key, int(n), int(n), int(c))
                for key, n, c in zip(THREE, counts, conversions, strict=True)
            ]
            for mode in ("sequential", "fixed"):
                if not stopped[mode]:
                    result = analyse(arms, weights=THREE, mode=mode)
                    stopped[mode] = any(c.significant for c in result.comparisons)
        for mode, hit in stopped.items():
            found[mode] += hit
    slack = 3 * math.sqrt(0.05 * 0.95 / sims)
    rates = {mode: hits / sims for mode, hits in found.items()}
    assert rates["sequential"] <= 0.05 + slack, rates
    assert rates["fixed"] > 0.05 + slack, rates
