"""The analysis of a conversion experiment: per-arm rates, uplift vs control, decision (pure).

``analyse`` is the one entry point: per-arm counts in, an ``Analysis`` out (frozen
dataclasses, no I/O). It combines
- per arm: the rate with a Wilson interval (``uplift.wilson_interval``);
- per variant vs control: absolute and relative uplift with intervals and a
  p-value (``uplift``), in "sequential" mode (default, anytime-valid confidence
  sequences, ``sequential``) or "fixed" mode (classic fixed-horizon intervals);
- Holm's step-down correction when several variants are compared with control
  (Holm, S. (1979). A simple sequentially rejective multiple test procedure.
  Scand. J. Statist. 6, 65-70; equal to statsmodels ``multipletests(method="holm")``),
  with Bonferroni-level intervals (1 - alpha/m), so every interval shown holds
  simultaneously;
- the sample-ratio-mismatch check (``srm_check``) and the data-sufficiency rule.

docs/experiments.md explains each statistic and when to stop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from scipy.special import chdtrc

from chat_server.services.experiments import sequential, uplift
from chat_server.services.experiments.errors import ExperimentInputError
from chat_server.services.experiments.uplift import Estimate, Mode

SRM_THRESHOLD = 0.001
"""Flag a sample ratio mismatch below this p-value (GrowthBook's default: with the check
run at every look, a strict threshold keeps false alarms rare)."""

MIN_EXPOSED = 100
MIN_CONVERSIONS = 5


@dataclass(frozen=True)
class ArmCounts:
    """What was counted for one arm: units assigned, exposed (the trigger fired;
    for control "would have shown"), and exposed units that reached the goal."""

    key: str
    assigned: int
    exposed: int
    conversions: int


@dataclass(frozen=True)
class ArmRow:
    key: str
    weight: float
    assigned: int
    exposed: int
    conversions: int
    rate: float | None  # conversions / exposed; None without exposed units
    rate_low: float | None  # Wilson interval at the analysis' interval level
    rate_high: float | None
    enough_data: bool


@dataclass(frozen=True)
class Comparison:
    """One variant against control. ``absolute``/``relative`` are None when either arm
    has no exposed units (relative also when the control rate is 0)."""

    arm: str
    control: str
    absolute: Estimate | None
    relative: Estimate | None
    p_value: float  # the absolute difference's (1.0 when not computable)
    adjusted_p_value: float  # Holm over all variants
    significant: bool
    direction: Literal["better", "worse", "none"]  # of a significant difference


@dataclass(frozen=True)
class SrmCheck:
    """Chi-square goodness of fit of counts to the configured weights.

    ``p_value`` is None (and ``flagged`` False) while an expected count is below 5, where
    the chi-square approximation is not trusted."""

    counts: Literal["assigned", "exposed"]
    statistic: float | None
    p_value: float | None
    flagged: bool


@dataclass(frozen=True)
class Analysis:
    mode: Mode
    alpha: float
    interval_alpha: float  # alpha / number of variants (Bonferroni) for every interval
    control: str
    arms: tuple[ArmRow, ...]
    comparisons: tuple[Comparison, ...]
    srm: tuple[SrmCheck, ...]  # on assigned and on exposed counts
    enough_data: bool
    decision: str  # not_enough_data | srm | no_difference_yet | winner:<arm> | control_better
    winner: str | None


def srm_check(
    counts: Sequence[int],
    weights: Sequence[float],
    *,
    basis: Literal["assigned", "exposed"] = "assigned",
    threshold: float = SRM_THRESHOLD,
) -> SrmCheck:
    """Sample ratio mismatch: are the counts consistent with the configured split?

    Pearson's chi-square goodness-of-fit test of the observed counts against
    total x weight: the statistic, and its p-value from scipy's chi-square
    survival function (``scipy.special.chdtrc``, what ``scipy.stats.chisquare``
    returns, without its array machinery, which cost most of an analysis; the
    unit tests compare the two). A mismatch means units were lost or added
    unevenly (a bug in assignment, exposure logging, bot filtering or redirects), so
    the arms are no longer comparable and no result should be trusted (Fabijan et
    al. (2019), "Diagnosing Sample Ratio Mismatch in Online Controlled Experiments",
    KDD; GrowthBook docs "Sample Ratio Mismatch").
    """
    if len(counts) != len(weights) or len(counts) < 2:
        raise ExperimentInputError("an SRM check needs one weight per arm and two arms or more")
    if any(c < 0 for c in counts) or any(w <= 0 for w in weights):
        raise ExperimentInputError("counts must be >= 0 and weights > 0")
    total = sum(counts)
    weight_sum = sum(weights)
    expected = [total * w / weight_sum for w in weights]
    if min(expected) < 5:
        return SrmCheck(counts=basis, statistic=None, p_value=None, flagged=False)
    statistic = sum((c - e) ** 2 / e for c, e in zip(counts, expected, strict=True))
    p = chdtrc(len(counts) - 1, statistic)
    return SrmCheck(
        counts=basis, statistic=float(statistic), p_value=float(p), flagged=bool(p < threshold)
    )


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (Holm 1979): the i-th smallest of m times (m - i), made
    non-decreasing in that order, capped at 1; reject where adjusted < alpha.

    Controls the family-wise error rate (the chance of any false "winner" among the
    variants) under any dependence, and rejects everything Bonferroni does. Written
    out rather than called from statsmodels ``multipletests(method="holm")`` (the unit
    tests check it equals that on many inputs) because that function runs a full
    ``gc.collect()`` on every call: about 50 ms in a test process, more in a server's
    heap, blocking the event loop on every results page.
    """
    if any(not 0.0 <= p <= 1.0 for p in p_values):
        raise ExperimentInputError("p-values must be between 0 and 1")
    m = len(p_values)
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda i: p_values[i])):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def has_enough_data(
    arm: ArmCounts, min_exposed: int = MIN_EXPOSED, min_conversions: int = MIN_CONVERSIONS
) -> bool:
    """Whether an arm has enough data for its intervals to mean what they say.

    Every interval here is a normal approximation (z-test, delta method, the
    *asymptotic* confidence sequence). The usual rule for the binomial's normal
    approximation is at least 5 successes and 5 failures (np >= 5 and n(1-p) >= 5);
    the relative uplift additionally divides by the control rate, which is unstable
    with a handful of conversions. 100 exposed units keeps one conversion from moving a
    rate by more than a percentage point and the SRM check's expected counts well
    above 5. Below these, the analysis says "not enough data yet" instead of showing
    a winner (GrowthBook likewise holds results below a minimum metric total).
    """
    return (
        arm.exposed >= min_exposed
        and arm.conversions >= min_conversions
        and arm.exposed - arm.conversions >= min_conversions
    )


def _check_arms(
    arms: Sequence[ArmCounts], control_key: str, weights: Mapping[str, float]
) -> dict[str, float]:
    keys = [a.key for a in arms]
    if len(arms) < 2:
        raise ExperimentInputError("an experiment needs a control and at least one variant")
    if len(set(keys)) != len(keys):
        raise ExperimentInputError("arm keys must be unique")
    if control_key not in keys:
        raise ExperimentInputError(f"no arm is the control {control_key!r}")
    for a in arms:
        if a.assigned < 0 or a.exposed < 0 or a.conversions < 0 or a.conversions > a.exposed:
            raise ExperimentInputError(
                f"arm {a.key!r}: counts must be >= 0 and conversions at most exposed"
            )
    if set(weights) != set(keys):
        raise ExperimentInputError("weights must name exactly the arms")
    if any(not w > 0 for w in weights.values()):
        raise ExperimentInputError("every weight must be > 0")
    total = sum(weights.values())
    if abs(total - 1.0) > 1e-6:
        raise ExperimentInputError(f"weights must add up to 1, got {total}")
    return {k: w / total for k, w in weights.items()}


def _compare(
    control: ArmCounts, arm: ArmCounts, interval_alpha: float, mode: Mode, tuning: float
) -> tuple[Estimate | None, Estimate | None]:
    if control.exposed == 0 or arm.exposed == 0:
        return None, None
    args = (control.conversions, control.exposed, arm.conversions, arm.exposed)
    absolute = uplift.absolute_uplift(*args, alpha=interval_alpha, mode=mode, tuning=tuning)
    relative = uplift.relative_uplift(*args, alpha=interval_alpha, mode=mode, tuning=tuning)
    return absolute, relative


def _direction(absolute: Estimate) -> Literal["better", "worse", "none"]:
    """Better/worse when the absolute difference's interval excludes zero."""
    if absolute.low > 0:
        return "better"
    if absolute.high < 0:
        return "worse"
    return "none"


def analyse(
    arms: Sequence[ArmCounts],
    control_key: str = "control",
    mode: Mode = "sequential",
    alpha: float = 0.05,
    *,
    weights: Mapping[str, float],
    min_exposed: int = MIN_EXPOSED,
    min_conversions: int = MIN_CONVERSIONS,
    planned_exposed: int | None = None,
    tuning: float = sequential.DEFAULT_TUNING,
) -> Analysis:
    """Analyse an experiment's counts; the decision is the page's headline.

    ``weights``: the configured allocation per arm key (adding up to 1), for the SRM
    check. ``planned_exposed``: in fixed mode, the planned exposed units per arm
    (``planning.plan``); below it the decision stays "not_enough_data", because a
    fixed-horizon interval is only valid at its planned sample size (reading it
    earlier is the peeking the sequential mode exists for).

    A variant is ``significant`` when both arms have enough data, its Holm-adjusted
    p-value is below alpha and the interval of its absolute difference (at level
    1 - alpha/m for m variants) excludes zero. The decision is made on the absolute
    difference, the scale of the two-proportion test and of the plan; the relative
    uplift's delta-method interval is shown beside it and agrees except with few
    control conversions, where it is skewed and wide (a low control count inflates
    both the ratio and its variance). Decision, in order:
    "srm" if either SRM check flags (never a winner: the arms are not comparable);
    "not_enough_data" if an arm is below the minimum (or the plan, fixed mode);
    "winner:<arm>" for the significantly better variant with the largest uplift
    (better than control; variants are not tested against each other);
    "control_better" if every variant is significantly worse; else
    "no_difference_yet".
    """
    mode = uplift.check_mode(mode)
    if not 0.0 < alpha < 1.0:
        raise ExperimentInputError(f"alpha must be between 0 and 1, got {alpha}")
    if min_exposed < 0 or min_conversions < 0:
        raise ExperimentInputError("the minimums must be >= 0")
    if planned_exposed is not None and planned_exposed < 1:
        raise ExperimentInputError("the planned sample size must be >= 1")
    shares = _check_arms(arms, control_key, weights)
    control = next(a for a in arms if a.key == control_key)
    variants = [a for a in arms if a.key != control_key]
    interval_alpha = alpha / len(variants)

    sufficient = {a.key: has_enough_data(a, min_exposed, min_conversions) for a in arms}
    rows = []
    for a in arms:
        low = high = rate = None
        if a.exposed > 0:
            rate = a.conversions / a.exposed
            low, high = uplift.wilson_interval(a.conversions, a.exposed, interval_alpha)
        rows.append(
            ArmRow(
                key=a.key,
                weight=shares[a.key],
                assigned=a.assigned,
                exposed=a.exposed,
                conversions=a.conversions,
                rate=rate,
                rate_low=low,
                rate_high=high,
                enough_data=sufficient[a.key],
            )
        )

    estimates = [_compare(control, v, interval_alpha, mode, tuning) for v in variants]
    raw_p = [1.0 if absolute is None else absolute.p_value for absolute, _ in estimates]
    adjusted = holm(raw_p)
    comparisons = []
    for v, (absolute, relative), p, p_adj in zip(variants, estimates, raw_p, adjusted, strict=True):
        direction: Literal["better", "worse", "none"] = "none"
        if absolute is not None and sufficient[v.key] and sufficient[control_key] and p_adj < alpha:
            direction = _direction(absolute)
        comparisons.append(
            Comparison(
                arm=v.key,
                control=control_key,
                absolute=absolute,
                relative=relative,
                p_value=p,
                adjusted_p_value=p_adj,
                significant=direction != "none",
                direction=direction,
            )
        )

    arm_weights = [shares[a.key] for a in arms]
    srm = (
        srm_check([a.assigned for a in arms], arm_weights, basis="assigned"),
        srm_check([a.exposed for a in arms], arm_weights, basis="exposed"),
    )
    enough = all(sufficient.values())
    if mode == "fixed" and planned_exposed is not None:
        enough = enough and all(a.exposed >= planned_exposed for a in arms)

    winner = None
    better = [c for c in comparisons if c.direction == "better" and c.absolute is not None]
    if any(check.flagged for check in srm):
        decision = "srm"
    elif not enough:
        decision = "not_enough_data"
    elif better:
        winner = max(better, key=lambda c: c.absolute.value if c.absolute else 0.0).arm
        decision = f"winner:{winner}"
    elif all(c.direction == "worse" for c in comparisons):
        decision = "control_better"
    else:
        decision = "no_difference_yet"
    return Analysis(
        mode=mode,
        alpha=alpha,
        interval_alpha=interval_alpha,
        control=control_key,
        arms=tuple(rows),
        comparisons=tuple(comparisons),
        srm=srm,
        enough_data=enough,
        decision=decision,
        winner=winner,
    )
