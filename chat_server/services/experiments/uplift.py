"""Rates, uplifts, intervals and p-values for conversion experiments (pure).

The distributions come from statsmodels and scipy; written here is only the glue
and what they lack (the delta-method relative interval's variance, which is one
line, and the confidence sequence in ``sequential``).

References
- Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
  inference. JASA 22(158), 209-212. Newcombe, R. G. (1998). Two-sided confidence
  intervals for the single proportion: comparison of seven methods. Statistics in
  Medicine 17, 857-872 (worked examples in its Table I).
- Newcombe, R. G. (1998). Interval estimation for the difference between
  independent proportions: comparison of eleven methods. Statistics in Medicine
  17, 873-890 (method 1, the Wald interval, worked examples in Table II).
- Delta method for a ratio of independent means, as in GrowthBook's gbstats
  frequentist ``TTest.variance`` (packages/stats/gbstats/frequentist/tests.py):
  Var(pB/pA - 1) ~ VarB/(pA^2 nB) + VarA pB^2/(pA^4 nA), with Var = p(1-p).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy.special import ndtr, ndtri
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from chat_server.services.experiments import sequential
from chat_server.services.experiments.errors import ExperimentInputError

Mode = Literal["sequential", "fixed"]
MODES: tuple[Mode, ...] = ("sequential", "fixed")


@dataclass(frozen=True)
class Estimate:
    """A difference (treatment vs control) with its interval and p-value.

    ``low``/``high``: a (1 - alpha) confidence interval (mode "fixed") or confidence
    sequence (mode "sequential"). ``p_value``: the two-proportion z-test's (fixed,
    absolute scale), the anytime-valid one matching the sequence (sequential), or the
    Wald test of the delta-method estimate (fixed, relative scale).
    """

    value: float
    se: float
    low: float
    high: float
    p_value: float


def _check_counts(conversions: int, exposed: int) -> None:
    if exposed < 0 or conversions < 0 or conversions > exposed:
        raise ExperimentInputError(
            f"conversions must be between 0 and exposed, got {conversions} of {exposed}"
        )


def wilson_interval(conversions: int, exposed: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for one arm's rate (Wilson 1927; Newcombe 1998, method 3).

    Unlike the textbook Wald interval p +- z sqrt(p(1-p)/n) it stays inside [0, 1] and
    keeps close to its nominal coverage for small n and rates near 0 or 1, which is
    where conversion rates live. Computed by statsmodels
    ``proportion_confint(method="wilson")``.
    """
    _check_counts(conversions, exposed)
    if exposed == 0:
        raise ExperimentInputError("a rate needs at least one exposed unit")
    low, high = proportion_confint(conversions, exposed, alpha=alpha, method="wilson")
    rate = conversions / exposed
    # Rounding can leave the bound a hair (1e-17) past the rate at 0 or n conversions.
    return max(0.0, min(float(low), rate)), min(1.0, max(float(high), rate))


def two_proportion_z_test(
    control_conversions: int, control_exposed: int, conversions: int, exposed: int
) -> tuple[float, float]:
    """Two-sided two-proportion z-test with the pooled variance: ``(z, p)``.

    z = (pB - pA) / sqrt(p(1-p)(1/nA + 1/nB)), p = pooled rate (e.g. OpenIntro
    Statistics, 4th ed., section 6.2.3). Equivalent to Pearson's chi-square on the
    2x2 table without continuity correction (z^2 = chi^2). Computed by statsmodels
    ``proportions_ztest``; when the pooled rate is 0 or 1 there is no variance and
    the result is (0, 1).
    """
    _check_counts(control_conversions, control_exposed)
    _check_counts(conversions, exposed)
    if control_exposed == 0 or exposed == 0:
        raise ExperimentInputError("a z-test needs exposed units in both arms")
    pooled = (control_conversions + conversions) / (control_exposed + exposed)
    if pooled in (0.0, 1.0):
        return 0.0, 1.0
    z, p = proportions_ztest([conversions, control_conversions], [exposed, control_exposed])
    return float(z), float(p)


def _interval(
    value: float, se: float, n: int, alpha: float, mode: Mode, tuning: float
) -> tuple[float, float]:
    if mode == "fixed":
        half = float(ndtri(1.0 - alpha / 2.0)) * se  # the normal quantile
    else:
        half = float(sequential.halfwidth(se, n, alpha, tuning))
    return value - half, value + half


def check_mode(mode: str) -> Mode:
    """``mode`` as a Mode, or ExperimentInputError (e.g. from a query string)."""
    for known in MODES:
        if mode == known:
            return known
    raise ExperimentInputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")


def absolute_uplift(
    control_conversions: int,
    control_exposed: int,
    conversions: int,
    exposed: int,
    *,
    alpha: float = 0.05,
    mode: Mode = "sequential",
    tuning: float = sequential.DEFAULT_TUNING,
) -> Estimate:
    """pB - pA with the unpooled (Wald) standard error sqrt(pA(1-pA)/nA + pB(1-pB)/nB).

    Fixed mode: the Wald interval (Newcombe 1998b, method 1; statsmodels
    ``confint_proportions_2indep(method="wald")``) and the pooled two-proportion
    z-test p-value. Sequential mode: the asymptotic confidence sequence with the same
    standard error and its anytime-valid p-value (``sequential``).
    """
    mode = check_mode(mode)
    _check_counts(control_conversions, control_exposed)
    _check_counts(conversions, exposed)
    if control_exposed == 0 or exposed == 0:
        raise ExperimentInputError("an uplift needs exposed units in both arms")
    pa, pb = control_conversions / control_exposed, conversions / exposed
    value = pb - pa
    se = math.sqrt(pa * (1 - pa) / control_exposed + pb * (1 - pb) / exposed)
    n = control_exposed + exposed
    low, high = _interval(value, se, n, alpha, mode, tuning)
    if mode == "fixed":
        args = (control_conversions, control_exposed, conversions, exposed)
        p = two_proportion_z_test(*args)[1]
    else:
        p = float(sequential.p_value(value, se, n, alpha, tuning))
    return Estimate(value=value, se=se, low=low, high=high, p_value=p)


def relative_uplift(
    control_conversions: int,
    control_exposed: int,
    conversions: int,
    exposed: int,
    *,
    alpha: float = 0.05,
    mode: Mode = "sequential",
    tuning: float = sequential.DEFAULT_TUNING,
) -> Estimate | None:
    """pB / pA - 1 with a delta-method interval; None when the control rate is 0.

    Var = pB(1-pB)/(pA^2 nB) + pA(1-pA) pB^2/(pA^4 nA): the first-order Taylor
    expansion of pB/pA around the true rates, the two arms independent (GrowthBook
    gbstats ``TTest.variance``). Like every normal approximation it needs enough
    conversions in the control arm (the ratio's distribution is skewed when pA is
    small and noisy); ``stats.analyse`` only reports a decision above a minimum.
    Fixed mode: estimate +- z_{1-alpha/2} se (GrowthBook uses Student's t with Welch's
    degrees of freedom, which for the hundreds of units a decision needs is the same
    to three decimals) and the Wald p-value; sequential: the confidence sequence.
    """
    mode = check_mode(mode)
    _check_counts(control_conversions, control_exposed)
    _check_counts(conversions, exposed)
    if control_exposed == 0 or exposed == 0:
        raise ExperimentInputError("an uplift needs exposed units in both arms")
    pa, pb = control_conversions / control_exposed, conversions / exposed
    if pa == 0.0:
        return None
    value = pb / pa - 1.0
    variance = pb * (1 - pb) / (pa**2 * exposed) + pa * (1 - pa) * pb**2 / (pa**4 * control_exposed)
    se = math.sqrt(variance)
    n = control_exposed + exposed
    low, high = _interval(value, se, n, alpha, mode, tuning)
    if mode == "sequential":
        p = float(sequential.p_value(value, se, n, alpha, tuning))
    elif se > 0:
        p = float(2.0 * ndtr(-abs(value) / se))  # two-sided normal tail
    else:
        p = 1.0
    return Estimate(value=value, se=se, low=low, high=high, p_value=p)
