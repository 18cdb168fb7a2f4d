"""Anytime-valid confidence sequences for a difference between two arms (pure).

A fixed-horizon 95 % interval is right 95 % of the time *at one pre-planned look*.
Looked at every day, with the experiment stopped at the first look that excludes
zero, it "finds" a difference far more often than 5 % of the time when there is
none (tests/unit/test_experiment_stats.py measures 27 % over four weeks of daily
looks, against 1.8 % for the confidence sequence). A confidence sequence is a
sequence of intervals that covers the true effect at *every* sample size
simultaneously with probability 1 - alpha, so it can be watched continuously and
acted on whenever it excludes zero.

This module implements the asymptotic confidence sequence of Waudby-Smith,
Arbour, Sinha, Kennedy and Ramdas, "Time-uniform central limit theory and
asymptotic confidence sequences" (arXiv:2103.06476, v7 2023: the normal-mixture
boundary, and the e-value of its equation (155)), in the parameterisation
GrowthBook's gbstats uses (``SequentialTwoSidedTTest``,
https://docs.growthbook.io/statistics/sequential):

    rho^2     = (-2 ln(alpha) + ln(-2 ln(alpha) + 1)) / M
    v         = n rho^2 + 1
    halfwidth = se * sqrt(2 v ln(sqrt(v) / alpha) / (n rho^2))

where ``se`` is the standard error of the estimate (absolute difference or the
delta-method relative difference), ``n`` the total number of units in the two arms
being compared, and ``M`` the tuning parameter: the sample size at which the
sequence is tightest (GrowthBook's default 5000). Any fixed ``M`` gives a valid
sequence; it only moves where the price for peeking is lowest.

The matching anytime-valid p-value is 1/E capped at 1, with the mixture e-value
``E = exp(rho^2 n est^2 / (2 v se^2)) / sqrt(v)``; ``p <= alpha`` exactly when the
sequence at level alpha excludes zero.

The functions accept numpy arrays, so simulations (A/A tests) can evaluate many
experiments and looks at once.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from chat_server.services.experiments.errors import ExperimentInputError

DEFAULT_TUNING = 5000.0
"""GrowthBook's default for the tuning parameter M (its "sequential_tuning_parameter")."""

FloatArray = npt.NDArray[np.float64]


def rho(alpha: float, tuning: float = DEFAULT_TUNING) -> float:
    """The mixing standard deviation that makes the boundary tightest at n = ``tuning``.

    Waudby-Smith et al. 2023 (arXiv:2103.06476), the rho chosen for a target sample
    size; GrowthBook ``sequential_rho``.
    """
    if not 0.0 < alpha < 1.0:
        raise ExperimentInputError(f"alpha must be between 0 and 1, got {alpha}")
    if not tuning > 0.0:
        raise ExperimentInputError(f"the tuning parameter must be positive, got {tuning}")
    log_alpha = math.log(alpha)
    return math.sqrt((-2.0 * log_alpha + math.log(-2.0 * log_alpha + 1.0)) / tuning)


def halfwidth(
    se: npt.ArrayLike, n: npt.ArrayLike, alpha: float, tuning: float = DEFAULT_TUNING
) -> FloatArray:
    """Half-width of the two-sided (1 - alpha) asymptotic confidence sequence at ``n``.

    ``se``: standard error of the estimate at this look; ``n``: total units in both
    arms at this look (``n >= 1``). The interval is ``estimate +- halfwidth``.
    Reference: Waudby-Smith et al. 2023 (arXiv:2103.06476); GrowthBook
    ``sequential_interval_halfwidth``.
    """
    r2 = rho(alpha, tuning) ** 2
    se_a = np.asarray(se, dtype=np.float64)
    n_a = np.asarray(n, dtype=np.float64)
    if np.any(n_a < 1):
        raise ExperimentInputError("a confidence sequence needs at least one unit")
    v = n_a * r2 + 1.0
    width: FloatArray = se_a * np.sqrt(2.0 * v * np.log(np.sqrt(v) / alpha) / (n_a * r2))
    return width


def p_value(
    estimate: npt.ArrayLike,
    se: npt.ArrayLike,
    n: npt.ArrayLike,
    alpha: float,
    tuning: float = DEFAULT_TUNING,
) -> FloatArray:
    """Anytime-valid two-sided p-value for "the effect is zero" (1 / e-value, at most 1).

    Valid at any stopping time: P(p_n <= a for some n) <= a under the null. ``alpha``
    only fixes ``rho`` (so that ``p <= alpha`` matches :func:`halfwidth`). A zero
    standard error carries no information and gives p = 1.
    Reference: Waudby-Smith et al. 2023 (arXiv:2103.06476) eq. (155); GrowthBook
    ``SequentialTwoSidedTTest.p_value``.
    """
    r2 = rho(alpha, tuning) ** 2
    est_a = np.asarray(estimate, dtype=np.float64)
    se_a = np.asarray(se, dtype=np.float64)
    n_a = np.asarray(n, dtype=np.float64)
    v = n_a * r2 + 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z2 = np.where(se_a > 0, est_a**2 / np.where(se_a > 0, se_a, 1.0) ** 2, 0.0)
    log_e = r2 * n_a * z2 / (2.0 * v) - 0.5 * np.log(v)
    p: FloatArray = np.where(se_a > 0, np.exp(-np.maximum(log_e, 0.0)), 1.0)
    return p
