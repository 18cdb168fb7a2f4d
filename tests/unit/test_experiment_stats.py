"""Experiment statistics (chat_server/services/experiments): against published worked
examples, against statsmodels/scipy or an independent formula on many random inputs,
and by simulation (the delta method, the A/A false-positive rate under daily peeking).

Simulations use fixed seeds, so they are deterministic; their tolerances are
Monte-Carlo error bounds (about 3 standard errors), not fudge.
"""

from __future__ import annotations

import math
from unittest.mock import patch

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2, chi2_contingency, chisquare, norm
from statsmodels.stats import multitest
from statsmodels.stats.proportion import confint_proportions_2indep

from chat_server.services.experiments import sequential, uplift
from chat_server.services.experiments.errors import ExperimentInputError
from chat_server.services.experiments.stats import holm, srm_check

ALPHA = 0.05
Z95 = float(norm.ppf(0.975))

arm_sizes = st.integers(min_value=20, max_value=200_000)


@st.composite
def two_arms(draw: st.DrawFn) -> tuple[int, int, int, int]:
    """(control conversions, control exposed, conversions, exposed), both rates in (0, 1)."""
    na, nb = draw(arm_sizes), draw(arm_sizes)
    ca = draw(st.integers(min_value=1, max_value=na - 1))
    cb = draw(st.integers(min_value=1, max_value=nb - 1))
    return ca, na, cb, nb


# --- Wilson interval -----------------------------------------------------------


@pytest.mark.parametrize(
    ("conversions", "exposed", "low", "high"),
    [
        # Newcombe (1998), Stat Med 17:857-872, Table I, method 3 (score, no correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_1998(
    conversions: int, exposed: int, low: float, high: float
) -> None:
    got = uplift.wilson_interval(conversions, exposed)
    assert got == pytest.approx((low, high), abs=5e-5)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 100_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_matches_the_closed_form(counts: tuple[int, int]) -> None:
    """Wilson (1927): (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)."""
    c, n = counts
    p = c / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2)) / (1 + Z95**2 / n)
    low, high = uplift.wilson_interval(c, n)
    assert (low, high) == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert 0.0 <= low <= p <= high <= 1.0


def test_wilson_refuses_impossible_counts() -> None:
    for c, n in [(1, 0), (5, 4), (-1, 10)]:
        with pytest.raises(ExperimentInputError):
            uplift.wilson_interval(c, n)


# --- Two-proportion z-test -----------------------------------------------------


def test_z_test_matches_openintro_mammogram_example() -> None:
    """OpenIntro Statistics 4th ed., section 6.2.3: breast-cancer deaths 500 of 44,925
    (mammogram) vs 505 of 44,910 (control); pooled SE 0.00070, Z = -0.17, p = 0.8650 (the
    book reads p from a table at Z rounded to two digits; unrounded Z = -0.164, p = 0.870)."""
    z, p = uplift.two_proportion_z_test(505, 44_910, 500, 44_925)
    assert z == pytest.approx(-0.17, abs=0.01)
    assert p == pytest.approx(0.865, abs=0.006)


@settings(max_examples=200, deadline=None)
@given(two_arms())
def test_z_test_is_pearson_chi_square_without_correction(arms: tuple[int, int, int, int]) -> None:
    ca, na, cb, nb = arms
    z, p = uplift.two_proportion_z_test(ca, na, cb, nb)
    table = [[ca, na - ca], [cb, nb - cb]]
    statistic, p_chi, _, _ = chi2_contingency(table, correction=False)
    assert z**2 == pytest.approx(statistic, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(p_chi, rel=1e-7, abs=1e-300)
    assert math.copysign(1, z) == math.copysign(1, cb / nb - ca / na) or z == 0


def test_z_test_without_variance_is_no_evidence() -> None:
    assert uplift.two_proportion_z_test(0, 100, 0, 120) == (0.0, 1.0)
    assert uplift.two_proportion_z_test(100, 100, 120, 120) == (0.0, 1.0)


# --- Absolute uplift -----------------------------------------------------------


@pytest.mark.parametrize(
    ("treatment", "control", "low", "high"),
    [
        # Newcombe (1998b), Stat Med 17:873-890, Table II, method 1 (Wald, no correction).
        ((56, 70), (48, 80), 0.0575, 0.3425),
        ((9, 10), (3, 10), 0.2605, 0.9395),
    ],
)
def test_fixed_absolute_interval_matches_newcombe_1998b(
    treatment: tuple[int, int], control: tuple[int, int], low: float, high: float
) -> None:
    est = uplift.absolute_uplift(*control, *treatment, mode="fixed")
    assert (est.low, est.high) == pytest.approx((low, high), abs=5e-5)


@settings(max_examples=200, deadline=None)
@given(two_arms(), st.sampled_from([0.01, 0.05, 0.1]))
def test_fixed_absolute_matches_statsmodels(arms: tuple[int, int, int, int], alpha: float) -> None:
    ca, na, cb, nb = arms
    est = uplift.absolute_uplift(ca, na, cb, nb, alpha=alpha, mode="fixed")
    low, high = confint_proportions_2indep(
        cb, nb, ca, na, method="wald", compare="diff", alpha=alpha
    )
    assert (est.low, est.high) == pytest.approx((low, high), abs=1e-12)
    assert est.p_value == uplift.two_proportion_z_test(ca, na, cb, nb)[1]


# --- Relative uplift (delta method) -------------------------------------------


def test_relative_matches_growthbook_fixtures() -> None:
    """gbstats' own tests (growthbook/growthbook, packages/stats/tests/frequentist/test_tests.py):
    proportions 14/28 vs 16/30: uplift 0.06667, stddev 0.2717; sequential (tuning 5000)
    1396/3000 vs 2422/3461: uplift 0.50386, stddev 0.03386, interval (0.40098, 0.60675)."""
    fixed = uplift.relative_uplift(14, 28, 16, 30, mode="fixed")
    assert fixed is not None
    assert (fixed.value, fixed.se) == pytest.approx((0.06667, 0.2717), abs=5e-5)
    seq = uplift.relative_uplift(1396, 3000, 2422, 3461)
    assert seq is not None
    assert (seq.value, seq.se) == pytest.approx((0.50386, 0.03386), abs=5e-6)
    assert (seq.low, seq.high) == pytest.approx((0.40098, 0.60675), abs=5e-6)


def fieller(ca: int, na: int, cb: int, nb: int, z: float) -> tuple[float, float]:
    """Fieller's (1954) interval for pB/pA - 1: the r with (pB - r pA)^2 <= z^2 (vB + r^2 vA)."""
    pa, pb = ca / na, cb / nb
    va, vb = pa * (1 - pa) / na, pb * (1 - pb) / nb
    a, b, c = pa**2 - z**2 * va, -2 * pa * pb, pb**2 - z**2 * vb
    root = math.sqrt(b**2 - 4 * a * c)
    return (-b - root) / (2 * a) - 1, (-b + root) / (2 * a) - 1


@settings(max_examples=200, deadline=None)
@given(
    st.floats(0.02, 0.5),
    st.floats(-0.3, 0.5),
    st.integers(50_000, 1_000_000),
    st.integers(50_000, 1_000_000),
)
def test_delta_method_agrees_with_fieller_on_large_samples(
    pa: float, lift: float, na: int, nb: int
) -> None:
    ca, cb = round(pa * na), round(min(pa * (1 + lift), 0.99) * nb)
    est = uplift.relative_uplift(ca, na, cb, nb, mode="fixed")
    assert est is not None
    low, high = fieller(ca, na, cb, nb, Z95)
    width = high - low
    assert est.low == pytest.approx(low, abs=0.05 * width)
    assert est.high == pytest.approx(high, abs=0.05 * width)


def test_delta_method_standard_error_and_coverage_by_simulation() -> None:
    """10,000 simulated experiments (5 % vs 6 %, 20,000 units per arm): the delta-method
    standard error is the spread of the simulated uplifts, and the 95 % interval covers
    the true uplift (+20 %) 95 % of the time."""
    rng = np.random.default_rng(20261206)
    n, pa, pb, sims = 20_000, 0.05, 0.06, 10_000
    ca, cb = rng.binomial(n, pa, sims), rng.binomial(n, pb, sims)
    true = pb / pa - 1
    estimates = [
        uplift.relative_uplift(int(a), n, int(b), n, mode="fixed")
        for a, b in zip(ca, cb, strict=True)
    ]
    values = np.array([e.value for e in estimates if e is not None])
    ses = np.array([e.se for e in estimates if e is not None])
    covered = np.mean([e.low <= true <= e.high for e in estimates if e is not None])
    assert len(values) == sims
    assert float(np.median(ses)) == pytest.approx(float(values.std()), rel=0.03)
    assert covered == pytest.approx(0.95, abs=3 * math.sqrt(0.95 * 0.05 / sims))


def test_relative_is_none_without_control_conversions() -> None:
    assert uplift.relative_uplift(0, 500, 10, 500) is None


# --- Sequential confidence sequence --------------------------------------------


def test_sequential_halfwidth_matches_growthbook_fixture() -> None:
    """gbstats test_sequential_test_runs: relative uplift 0.50336 with stddev 0.33341,
    n = 3000 + 3461, tuning 1000 -> interval (-0.55844, 1.56516)."""
    width = float(sequential.halfwidth(0.33341, 6461, 0.05, 1000))
    assert (0.50336 - width, 0.50336 + width) == pytest.approx((-0.55844, 1.56516), abs=2e-5)


@settings(max_examples=300, deadline=None)
@given(
    st.floats(-1, 1),
    st.floats(1e-4, 1),
    st.integers(2, 10_000_000),
    st.sampled_from([0.01, 0.05, 0.1, 0.025]),
    st.sampled_from([100.0, 5000.0, 100_000.0]),
)
def test_sequential_p_value_is_dual_to_the_sequence(
    est: float, se: float, n: int, alpha: float, tuning: float
) -> None:
    """p <= alpha exactly when the sequence at level alpha excludes zero; and the
    sequence is always wider than the fixed-horizon interval (the price of peeking)."""
    width = float(sequential.halfwidth(se, n, alpha, tuning))
    p = float(sequential.p_value(est, se, n, alpha, tuning))
    assert 0.0 <= p <= 1.0
    if abs(abs(est) - width) > 1e-9 * width:
        assert (p <= alpha) == (abs(est) > width)
    assert width > float(norm.ppf(1 - alpha / 2)) * se


def test_sequential_refuses_nonsense() -> None:
    for alpha, tuning in [(0.0, 5000.0), (1.0, 5000.0), (0.05, 0.0)]:
        with pytest.raises(ExperimentInputError):
            sequential.rho(alpha, tuning)
    with pytest.raises(ExperimentInputError):
        sequential.halfwidth(0.1, 0, 0.05)
    assert float(sequential.p_value(0.3, 0.0, 100, 0.05)) == 1.0


def simulate_looks(
    rng: np.random.Generator, sims: int, days: int, daily: int, pa: float, pb: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Cumulative conversions per arm at each daily look, and the units per arm."""
    ca = rng.binomial(daily, pa, (sims, days)).cumsum(axis=1)
    cb = rng.binomial(daily, pb, (sims, days)).cumsum(axis=1)
    n = np.arange(1, days + 1, dtype=np.float64) * daily
    return ca, cb, n


def stops(
    ca: npt.NDArray[np.int64], cb: npt.NDArray[np.int64], n: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Per simulated experiment: did any look declare a difference, (sequential, naive)?

    Looks count only once both arms pass the minimum (stats.has_enough_data)."""
    pa, pb = ca / n, cb / n
    se = np.sqrt(pa * (1 - pa) / n + pb * (1 - pb) / n)
    enough = (n >= 100) & (np.minimum(ca, cb) >= 5) & (n - np.maximum(ca, cb) >= 5)
    cs = enough & (np.abs(pb - pa) > sequential.halfwidth(se, 2 * n, ALPHA))
    pooled = (ca + cb) / (2 * n)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (pb - pa) / np.sqrt(pooled * (1 - pooled) * 2 / n)
    naive = enough & (2 * norm.sf(np.abs(z)) < ALPHA)
    return np.asarray(cs.any(axis=1), dtype=np.bool_), np.asarray(naive.any(axis=1), dtype=np.bool_)


def test_aa_daily_peeking_keeps_the_sequential_false_positive_rate_below_alpha() -> None:
    """4,000 A/A experiments (5 % in both arms, 250 units per arm a day), looked at every
    day for 4 weeks; a false positive is any look at which the 95 % interval excludes 0.

    The confidence sequence stays at or below alpha; the same data read with the
    fixed-horizon z-test at every look "finds" a difference far more often, which is
    what the sequential mode is for (and shows this simulation can detect a broken
    interval)."""
    rng = np.random.default_rng(24)
    sims = 4000
    slack = 3 * math.sqrt(ALPHA * (1 - ALPHA) / sims)
    sequential_fp, naive_fp = (
        float(s.mean()) for s in stops(*simulate_looks(rng, sims, 28, 250, 0.05, 0.05))
    )
    assert sequential_fp <= ALPHA + slack
    assert naive_fp > ALPHA + slack
    assert naive_fp > 3 * ALPHA


def test_sequential_detects_a_real_lift() -> None:
    """A/B with a real +20 % lift (5 % -> 6 %), 500 units per arm a day for 60 days:
    the sequence excludes zero in at least 80 % of experiments (planning.plan puts 80 %
    power at a single look at day 34), so the A/A result above is not a test that
    never rejects."""
    rng = np.random.default_rng(25)
    sequential_hits, _ = stops(*simulate_looks(rng, 1000, 60, 500, 0.05, 0.06))
    assert float(sequential_hits.mean()) >= 0.8


# --- SRM, Holm -----------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(10, 100_000), min_size=2, max_size=5), st.data())
def test_srm_matches_the_chi_square_formula(counts: list[int], data: st.DataObject) -> None:
    weights = data.draw(st.lists(st.floats(0.05, 1.0), min_size=len(counts), max_size=len(counts)))
    check = srm_check(counts, weights)
    total, wsum = sum(counts), sum(weights)
    expected = [total * w / wsum for w in weights]
    if min(expected) < 5:
        assert check.p_value is None and not check.flagged
        return
    statistic = sum((o - e) ** 2 / e for o, e in zip(counts, expected, strict=True))
    p = float(chi2.sf(statistic, len(counts) - 1))
    assert check.statistic == pytest.approx(statistic, rel=1e-9)
    assert check.p_value == pytest.approx(p, rel=1e-7, abs=1e-300)
    assert check.flagged == (p < 0.001)
    # What scipy's own goodness-of-fit test says (srm_check skips its array machinery).
    reference = chisquare(counts, expected)
    assert check.statistic == pytest.approx(float(reference.statistic), rel=1e-9)
    assert check.p_value == pytest.approx(float(reference.pvalue), rel=1e-7, abs=1e-300)


def test_srm_flags_a_lost_tenth_of_one_arm() -> None:
    weights = [0.1, 0.45, 0.45]
    assert not srm_check([1000, 4500, 4500], weights).flagged
    assert srm_check([1000, 4050, 4500], weights).flagged  # a tenth of arm "a" lost
    assert srm_check([3, 1, 2], weights).p_value is None  # too few to tell


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=8))
def test_holm_matches_statsmodels(p: list[float]) -> None:
    # multipletests runs gc.collect() on every Holm call (why stats.holm is written out);
    # skip that side effect here, the computation is untouched.
    with patch("gc.collect", return_value=0):
        _, expected, _, _ = multitest.multipletests(p, alpha=ALPHA, method="holm")
    assert holm(p) == pytest.approx(list(expected), abs=1e-12)


def test_holm_worked_example() -> None:
    """Holm (1979)'s procedure on p = (0.01, 0.04, 0.03, 0.005): sorted 0.005, 0.01, 0.03,
    0.04 times 4, 3, 2, 1 -> 0.02, 0.03, 0.06, 0.06 (running max), back in input order."""
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    with pytest.raises(ExperimentInputError):
        holm([0.5, 1.5])
