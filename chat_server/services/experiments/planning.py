"""How many exposed units, and how many days, an experiment needs (pure).

Shown before launch, so nobody stops an experiment at the first exciting blip or
lets a hopeless one run for months.

Fixed horizon: the normal-approximation power analysis of two proportions with
Cohen's effect size h = 2 asin(sqrt(p2)) - 2 asin(sqrt(p1)) (Cohen, J. (1988).
Statistical Power Analysis for the Behavioral Sciences, 2nd ed., chapter 6; its
Table 6.4.1 gives n per group), via statsmodels ``proportion_effectsize`` and
``NormalIndPower``. With several variants each is compared with control at
alpha/m (Bonferroni, which is Holm's first and strictest step, so the plan holds
for the Holm-corrected analysis).

Sequential: the confidence sequence is wider than a fixed interval at the same n
(the price of looking at any time). ``sequential_*`` is the smallest n at which,
looking then, the sequence excludes zero with the requested power if the true
effect is the MDE: delta >= halfwidth(n) + z_power * se(n) on the absolute
difference (the scale ``stats.analyse`` decides on), a normal approximation like
the fixed one. Looking earlier can only stop sooner.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import norm
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from chat_server.services.experiments import sequential
from chat_server.services.experiments.errors import ExperimentInputError


@dataclass(frozen=True)
class Plan:
    baseline: float
    mde: float  # relative: 0.1 = a 10 % lift over the baseline rate
    target: float  # baseline * (1 + mde)
    alpha: float
    alpha_per_comparison: float  # alpha / number of variants
    power: float
    weights: tuple[float, ...]  # control first
    effect_size: float  # Cohen's h
    per_arm: tuple[int, ...]  # fixed horizon, exposed units per arm (control first)
    total: int
    days: int | None  # total / daily_visitors, rounded up; None without a traffic figure
    sequential_per_arm: tuple[int, ...]
    sequential_total: int
    sequential_days: int | None


def _check(baseline: float, mde: float, alpha: float, power: float, arms: int) -> float:
    if not 0.0 < baseline < 1.0:
        raise ExperimentInputError(f"the baseline rate must be between 0 and 1, got {baseline}")
    if not mde > 0.0:
        raise ExperimentInputError(f"the minimum detectable effect must be > 0, got {mde}")
    target = baseline * (1.0 + mde)
    if not target < 1.0:
        raise ExperimentInputError(
            f"a {mde:.0%} lift over {baseline:.2%} would be a rate of 100 % or more"
        )
    if not 0.0 < alpha < 0.5:
        raise ExperimentInputError(f"alpha must be between 0 and 0.5, got {alpha}")
    if not alpha < power < 1.0:
        raise ExperimentInputError(f"power must be between alpha and 1, got {power}")
    if arms < 2:
        raise ExperimentInputError("an experiment needs a control and at least one variant")
    return target


def _weights(arms: int, weights: Sequence[float] | None) -> tuple[float, ...]:
    if weights is None:
        return tuple(1.0 / arms for _ in range(arms))
    if len(weights) != arms or any(not w > 0 for w in weights):
        raise ExperimentInputError("give one weight > 0 per arm, control first")
    total = sum(weights)
    if abs(total - 1.0) > 1e-6:
        raise ExperimentInputError(f"weights must add up to 1, got {total}")
    return tuple(w / total for w in weights)


def fixed_total(h: float, alpha: float, power: float, w_control: float, w_variant: float) -> float:
    """Total exposed units (all arms) for one variant vs control at these shares (unrounded)."""
    n_control = NormalIndPower().solve_power(
        effect_size=abs(h), alpha=alpha, power=power, ratio=w_variant / w_control
    )
    return float(n_control) / w_control


def sequential_total(
    baseline: float,
    target: float,
    alpha: float,
    power: float,
    w_control: float,
    w_variant: float,
    tuning: float = sequential.DEFAULT_TUNING,
) -> int:
    """Smallest total N (all arms) with delta >= halfwidth(N) + z_power * se(N) for this
    pair: the absolute difference's sequence, read at N, excludes zero with the power."""
    delta = target - baseline
    z_power = float(norm.ppf(power))

    def detects(total: int) -> bool:
        n_c, n_v = total * w_control, total * w_variant
        se = math.sqrt(baseline * (1 - baseline) / n_c + target * (1 - target) / n_v)
        return delta >= float(sequential.halfwidth(se, n_c + n_v, alpha, tuning)) + z_power * se

    low, high = 1, 2
    while not detects(high):
        low, high = high, high * 2
        if high > 10**13:
            raise ExperimentInputError("the effect is too small to detect with any traffic")
    while high - low > 1:  # detects(high) and not detects(low)
        mid = (low + high) // 2
        low, high = (low, mid) if detects(mid) else (mid, high)
    return high


def _per_arm(total: float, weights: tuple[float, ...]) -> tuple[int, ...]:
    return tuple(math.ceil(total * w - 1e-9) for w in weights)


def plan(
    baseline: float,
    mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
    arms: int = 2,
    daily_visitors: float | None = None,
    weights: Sequence[float] | None = None,
    tuning: float = sequential.DEFAULT_TUNING,
) -> Plan:
    """Planned sample size per arm and duration, for both analysis modes.

    ``baseline``: the control's expected conversion rate; ``mde``: the smallest
    relative lift worth detecting; ``arms``: control + variants; ``weights``: the
    allocation (control first; default an even split); ``daily_visitors``: eligible
    (exposed) units per day over all arms. Each variant needs its comparison with
    control powered; the plan is the largest total, split by the weights.
    """
    target = _check(baseline, mde, alpha, power, arms)
    if daily_visitors is not None and not daily_visitors > 0:
        raise ExperimentInputError("daily visitors must be > 0")
    shares = _weights(arms, weights)
    alpha_each = alpha / (arms - 1)
    h = float(proportion_effectsize(target, baseline))
    fixed = max(fixed_total(h, alpha_each, power, shares[0], w) for w in shares[1:])
    seq = max(
        sequential_total(baseline, target, alpha_each, power, shares[0], w, tuning)
        for w in shares[1:]
    )
    per_arm = _per_arm(fixed, shares)
    seq_per_arm = _per_arm(seq, shares)
    total, seq_total = sum(per_arm), sum(seq_per_arm)
    return Plan(
        baseline=baseline,
        mde=mde,
        target=target,
        alpha=alpha,
        alpha_per_comparison=alpha_each,
        power=power,
        weights=shares,
        effect_size=h,
        per_arm=per_arm,
        total=total,
        days=None if daily_visitors is None else math.ceil(total / daily_visitors),
        sequential_per_arm=seq_per_arm,
        sequential_total=seq_total,
        sequential_days=None if daily_visitors is None else math.ceil(seq_total / daily_visitors),
    )
