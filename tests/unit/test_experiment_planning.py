"""planning.plan: sample size and duration before launch, against Cohen's table, the
textbook formula and by simulation (does the planned size give the promised power?)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from chat_server.services.experiments import planning, sequential
from chat_server.services.experiments.errors import ExperimentInputError


@pytest.mark.parametrize(
    ("h", "n"),
    # Cohen (1988), Statistical Power Analysis, Table 6.4.1: n per group to detect
    # effect size h with power 0.80 at two-sided alpha 0.05.
    [(0.10, 1570), (0.20, 392), (0.30, 174), (0.40, 98), (0.50, 63), (0.60, 44), (0.80, 25)],
)
def test_fixed_size_matches_cohens_table(h: float, n: int) -> None:
    total = planning.fixed_total(h, 0.05, 0.8, 0.5, 0.5)
    assert round(total / 2) == n


@settings(max_examples=40, deadline=None)
@given(
    st.floats(0.005, 0.6),
    st.floats(0.02, 0.6),
    st.sampled_from([0.01, 0.05, 0.1]),
    st.sampled_from([0.8, 0.9]),
    st.integers(2, 4),
)
def test_even_split_matches_the_textbook_formula(
    baseline: float, mde: float, alpha: float, power: float, arms: int
) -> None:
    """n per arm = 2 ((z_{1-a/2} + z_power) / h)^2 with a = alpha / (arms - 1) (Bonferroni),
    h = 2 asin(sqrt(p2)) - 2 asin(sqrt(p1)) (Cohen 1988, section 6.2)."""
    plan = planning.plan(baseline, mde, alpha, power, arms)
    target = baseline * (1 + mde)
    h = 2 * math.asin(math.sqrt(target)) - 2 * math.asin(math.sqrt(baseline))
    a = alpha / (arms - 1)
    n = 2 * ((norm.ppf(1 - a / 2) + norm.ppf(power)) / h) ** 2
    # statsmodels solves for n numerically: within one unit, or 1e-4 relative for the
    # millions a tiny effect on a tiny rate needs (seen: 6,212,375 for 6,212,697).
    assert all(abs(per_arm - math.ceil(n)) <= max(1, 1e-4 * n) for per_arm in plan.per_arm)
    assert len(set(plan.per_arm)) == 1 and len(plan.per_arm) == arms
    assert plan.effect_size == pytest.approx(h)
    assert plan.total == arms * plan.per_arm[0]
    assert plan.sequential_total >= plan.total  # peeking has a price


def test_uneven_split_sizes_each_arm_by_its_share() -> None:
    """10 % holdout, two variants at 45 %: the small control arm drives the total. For
    one comparison at ratio k = nB/nA, nA = (z_a + z_b)^2 (1 + 1/k) / h^2."""
    plan = planning.plan(0.05, 0.2, arms=3, weights=[0.1, 0.45, 0.45], daily_visitors=1_000)
    h = plan.effect_size
    n_control = (norm.ppf(1 - 0.025 / 2) + norm.ppf(0.8)) ** 2 * (1 + 0.1 / 0.45) / h**2
    assert plan.per_arm[0] == math.ceil(n_control)
    assert plan.per_arm[1] == plan.per_arm[2] == math.ceil(n_control / 0.1 * 0.45)
    assert plan.days == math.ceil(plan.total / 1_000)
    assert plan.alpha_per_comparison == pytest.approx(0.025)


def test_sequential_size_is_the_first_n_that_detects() -> None:
    plan = planning.plan(0.05, 0.2)
    z = float(norm.ppf(0.8))

    def margin(total: int) -> float:
        n = total / 2
        se = math.sqrt((0.05 * 0.95 + 0.06 * 0.94) / n)
        return 0.01 - float(sequential.halfwidth(se, total, 0.05)) - z * se

    total = planning.sequential_total(0.05, 0.06, 0.05, 0.8, 0.5, 0.5)
    assert margin(total) >= 0 > margin(total - 1)
    assert plan.sequential_per_arm == (math.ceil(total / 2),) * 2


def test_the_planned_sizes_give_the_promised_power_by_simulation() -> None:
    """2,000 simulated experiments at exactly the planned size (5 % baseline, +20 %):
    the fixed z-test rejects in 80 % of them, and the confidence sequence read once at
    its planned size excludes zero in 80 % too (within Monte-Carlo error)."""
    plan = planning.plan(0.05, 0.2)
    rng = np.random.default_rng(1988)
    sims = 2_000
    slack = 3 * math.sqrt(0.8 * 0.2 / sims)
    for n, kind in ((plan.per_arm[0], "fixed"), (plan.sequential_per_arm[0], "sequential")):
        pa = rng.binomial(n, 0.05, sims) / n
        pb = rng.binomial(n, 0.06, sims) / n
        if kind == "fixed":
            pooled = (pa + pb) / 2
            z = (pb - pa) / np.sqrt(pooled * (1 - pooled) * 2 / n)
            hits = 2 * norm.sf(np.abs(z)) < 0.05
        else:
            se = np.sqrt((pa * (1 - pa) + pb * (1 - pb)) / n)
            hits = pb - pa > sequential.halfwidth(se, 2 * n, 0.05)
        assert float(hits.mean()) == pytest.approx(0.8, abs=slack), kind


def test_duration_from_daily_traffic() -> None:
    plan = planning.plan(0.05, 0.2, daily_visitors=1_000)
    assert plan.per_arm == (8143, 8143)  # 5 % -> 6 %: h = 0.0439
    assert plan.days == 17
    assert plan.sequential_days == math.ceil(plan.sequential_total / 1_000)
    assert planning.plan(0.05, 0.2).days is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"baseline": 0.0, "mde": 0.1},
        {"baseline": 1.0, "mde": 0.1},
        {"baseline": 0.05, "mde": 0.0},
        {"baseline": 0.05, "mde": -0.1},
        {"baseline": 0.6, "mde": 0.7},  # 102 %
        {"baseline": 0.05, "mde": 0.1, "alpha": 0.0},
        {"baseline": 0.05, "mde": 0.1, "power": 0.01},
        {"baseline": 0.05, "mde": 0.1, "power": 1.0},
        {"baseline": 0.05, "mde": 0.1, "arms": 1},
        {"baseline": 0.05, "mde": 0.1, "daily_visitors": 0},
        {"baseline": 0.05, "mde": 0.1, "weights": [0.5, 0.4]},
        {"baseline": 0.05, "mde": 0.1, "weights": [1.0]},
        {"baseline": 0.05, "mde": 0.1, "weights": [1.0, 0.0]},
    ],
)
def test_nonsense_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ExperimentInputError):
        planning.plan(**kwargs)  # type: ignore[arg-type]
